/**
 * The shipped whitelist-domain list: big senders whose mail comes from large, changing pools of servers and
 * retries from another server, which greylisting delays for hours unless their networks are whitelisted.
 * It is iRedAPD's `SQL/greylisting_whitelist_domains.sql` plus the providers its users keep hitting.
 */

import type { GreylistStore } from '@policyd/core';

/** iRedAPD's seeded list (`SQL/greylisting_whitelist_domains.sql`). */
const IREDAPD_DOMAINS: readonly string[] = [
  'amazon.com',
  'aol.com',
  'cloudfiltering.com',
  'cloudflare.com',
  'constantcontact.com',
  'craigslist.org',
  'cust-spf.exacttarget.com',
  'ebay.com',
  'exacttarget.com',
  'facebook.com',
  'facebookmail.com',
  'fbmta.com',
  'fishbowl.com',
  'github.com',
  'gmx.com',
  'google.com',
  'hotmail.com',
  'icloud.com',
  'icontact.com',
  'inbox.com',
  'instagram.com',
  'iredmail.org',
  'linkedin.com',
  'mail.com',
  'mailchimp.com',
  'mailgun.com',
  'mailjet.com',
  'microsoft.com',
  'outlook.com',
  'paypal.com',
  'pinterest.com',
  'reddit.com',
  'sendgrid.com',
  'sendgrid.net',
  'serverfault.com',
  'stackoverflow.com',
  'tumblr.com',
  'twitter.com',
  'yahoo.com',
  'yandex.ru',
  'zendesk.com',
  'zoho.com',
];

/** Added here: Google mail, Apple, Amazon SES and the Chinese providers (qq.com, foxmail.com, 163.com, 126.com). */
const ADDED_DOMAINS: readonly string[] = [
  'gmail.com',
  'apple.com',
  'amazonses.com',
  'qq.com',
  'foxmail.com',
  '163.com',
  '126.com',
];

/**
 * The default whitelist domains, sorted: iRedAPD's 42 plus gmail.com, apple.com, amazonses.com, qq.com,
 * foxmail.com, 163.com and 126.com (Microsoft/Outlook, Google, Yahoo and iCloud are already in iRedAPD's).
 */
export const DEFAULT_WHITELIST_DOMAINS: readonly string[] = Object.freeze(
  [...new Set([...IREDAPD_DOMAINS, ...ADDED_DOMAINS])].sort(),
);

/**
 * Add whitelist domains to the store (default: {@link DEFAULT_WHITELIST_DOMAINS}); domains already listed are
 * left alone. Run the refresh afterwards to whitelist their networks.
 *
 * @returns the domains that were added
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming a value that is not a domain name
 *
 * @example
 * ```ts
 * await seedWhitelistDomains(storage.greylist);
 * await refreshWhitelistDomains({ store: storage.greylist, dns: new Resolver() });
 * ```
 */
export async function seedWhitelistDomains(
  store: GreylistStore,
  domains: readonly string[] = DEFAULT_WHITELIST_DOMAINS,
): Promise<string[]> {
  const added: string[] = [];
  for (const domain of domains) if (await store.addWhitelistDomain(domain)) added.push(domain);
  return added;
}
