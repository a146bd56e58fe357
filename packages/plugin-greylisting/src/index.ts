/**
 * `@policyd/plugin-greylisting`: iRedAPD's greylisting for `@policyd/core`, on iRedAPD's own tables. It
 * defers the first attempt of every (sender, recipient, client) triplet with `451 4.7.1`, accepts the retry
 * after the block time, and then lets the client through. Per-account settings, whitelists by IP, network
 * and sender domain, an SPF bypass (real RFC 7208 evaluation, bounded and cached), the whitelist-domain
 * refresh that turns big senders' SPF records into whitelisted networks, and a typed admin API.
 *
 * @example
 * ```ts
 * import { createPolicy, createServer } from '@policyd/core';
 * import { createGreylistingAdmin, greylisting } from '@policyd/plugin-greylisting';
 * import { openStorage } from '@policyd/storage-knex';
 *
 * const storage = await openStorage({ client: 'sqlite', filename: '/var/lib/policyd/policyd.sqlite' });
 * await createGreylistingAdmin({ store: storage.greylist }).enable(); // greylist mail to everyone
 * const policy = await createPolicy({
 *   plugins: [greylisting({ store: storage.greylist, domains: storage.domains, mynetworks: ['192.168.0.0/16'] })],
 * });
 * await createServer(policy).listen({ host: '127.0.0.1', port: 7777 });
 * // main.cf: smtpd_recipient_restrictions = … check_policy_service inet:127.0.0.1:7777
 * ```
 *
 * @packageDocumentation
 */

export type {
  AdminRefreshOptions,
  GreylistingAdmin,
  GreylistingAdminOptions,
  GreylistingTarget,
  WhitelistTarget,
} from './admin.ts';
export { createGreylistingAdmin } from './admin.ts';
export { DEFAULT_WHITELIST_DOMAINS, seedWhitelistDomains } from './default-domains.ts';
export type { GreylistingOptions, ResolvedGreylistingOptions } from './options.ts';
export { DEFAULT_GREYLISTING_MESSAGE, resolveGreylistingOptions } from './options.ts';
export { GREYLISTING_PLUGIN_NAME, greylisting } from './plugin.ts';
export type {
  DomainRefresh,
  DomainRefreshStatus,
  RefreshOptions,
  RefreshSummary,
  SharedNetwork,
} from './refresh.ts';
export { formatRefreshSummary, refreshWhitelistDomains } from './refresh.ts';
export type { SettingMatch, SettingMatchKind } from './settings-match.ts';
export { compareSettings, findSetting } from './settings-match.ts';
export type {
  SpfBypass,
  SpfBypassOptions,
  SpfDnsResolver,
  SpfQuestion,
  SpfResult,
  SpfVerdict,
} from './spf-bypass.ts';
export { createSpfBypass } from './spf-bypass.ts';
export type { SpfExpansion, SpfExpansionOptions, SpfExpansionSource } from './spf-expand.ts';
export { expandSpf } from './spf-expand.ts';
