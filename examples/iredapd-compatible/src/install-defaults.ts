/**
 * What an iRedMail installation puts into a new iredapd database, applied to a newly created SQLite database
 * so that the stand-alone daemon greylists out of the box: greylisting enabled for everyone
 * (`SQL/enable_global_greylisting.sql`) and the list of big senders whose SPF networks the whitelist-domain
 * refresh turns into whitelists (`SQL/greylisting_whitelist_domains.sql`). An existing database is never
 * touched.
 */

import type { GreylistStore, Logger } from '@policyd/core';
import { DEFAULT_WHITELIST_DOMAINS, seedWhitelistDomains } from '@policyd/plugin-greylisting';

/**
 * Enable greylisting globally (`@.` → `@.`, active) and list the default whitelist domains.
 *
 * @example
 * ```ts
 * if (storage.created) await applyInstallDefaults(storage.stores.greylist, logger);
 * ```
 */
export async function applyInstallDefaults(greylist: GreylistStore, logger: Logger): Promise<void> {
  await greylist.setSetting({ account: '@.', sender: '@.', active: true });
  const added = await seedWhitelistDomains(greylist);
  logger.info(
    { whitelistDomains: added.length },
    `New database: greylisting enabled for all senders and recipients, ${added.length} of ` +
      `${DEFAULT_WHITELIST_DOMAINS.length} default whitelist domains listed (as an iRedMail installation does)`,
  );
}
