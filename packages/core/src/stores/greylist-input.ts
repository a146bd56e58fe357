/**
 * Input rules of the `GreylistStore` methods, shared by every implementation so that all of them accept,
 * canonicalise and reject the same values.
 */

import { ACCOUNT_PRIORITIES, type AccountType, classifyAccount, parseAccount } from '../accounts.ts';
import { PolicydError } from '../errors.ts';
import type {
  GreylistAttemptTimes,
  GreylistPair,
  GreylistTriplet,
  GreylistTripletState,
} from './greylist-store.ts';
import { fromUnixSeconds, toUnixSeconds } from './store-time.ts';

/** Account forms a greylisting setting or whitelist row may have (iRedAPD's admin helpers). */
export const GREYLIST_ACCOUNT_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall',
]);

/**
 * Sender forms a greylisting setting or whitelist row may have: iRedAPD's `is_valid_sender` (address, domain
 * forms, IP, network) plus wildcard IPv4, which iRedAPD accepted in the schema but never matched (bug B16).
 */
export const GREYLIST_SENDER_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall',
  'ip',
  'cidr',
  'wildcard_ip',
]);

/** Value forms `replaceDomainNetworks` stores: IP addresses and networks. */
export const GREYLIST_NETWORK_TYPES: readonly AccountType[] = Object.freeze(['ip', 'cidr']);

/** The account of generated rows. */
export const GENERATED_WHITELIST_ACCOUNT = '@.';

/** The comment that marks the rows generated for a whitelist domain: `AUTO-UPDATE: <domain>`. */
export function generatedWhitelistComment(domain: string): string {
  return `AUTO-UPDATE: ${domain}`;
}

/** A checked account/sender pair with the priorities a new setting row gets. */
export interface ParsedGreylistPair extends GreylistPair {
  /** `ACCOUNT_PRIORITIES` of the account. */
  readonly priority: number;
  /** `ACCOUNT_PRIORITIES` of the sender (networks 70). */
  readonly senderPriority: number;
}

/**
 * Check and canonicalise a setting or whitelist pair: trimmed, lower-cased, IPs and networks canonical.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the invalid account or sender
 */
export function parseGreylistPair(pair: GreylistPair): ParsedGreylistPair {
  const account = parseAccount(String(pair.account), GREYLIST_ACCOUNT_TYPES);
  const sender = parseAccount(String(pair.sender), GREYLIST_SENDER_TYPES);
  return {
    account: account.account,
    sender: sender.account,
    priority: ACCOUNT_PRIORITIES[account.type],
    senderPriority: ACCOUNT_PRIORITIES[sender.type],
  };
}

/**
 * Check and canonicalise a whitelist domain: a bare domain name (`example.com`, not `@example.com`),
 * lower-cased.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the value
 */
export function parseWhitelistDomain(domain: string): string {
  const value = String(domain).trim().toLowerCase();
  if (value.startsWith('@') || classifyAccount(`@${value}`) !== 'domain') {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_ACCOUNT',
      `Invalid whitelist domain ${JSON.stringify(domain)}: expected a domain name such as example.com`,
      { value: domain },
    );
  }
  return value;
}

/**
 * Check and canonicalise the values of `replaceDomainNetworks`: IP addresses and strict networks, duplicates
 * removed, input order kept.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the first invalid value
 */
export function parseDomainNetworks(networks: readonly string[]): readonly string[] {
  const values = new Set<string>();
  for (const network of networks) values.add(parseAccount(String(network), GREYLIST_NETWORK_TYPES).account);
  return [...values];
}

/** {@link GreylistAttemptTimes} in whole unix seconds. */
export interface GreylistAttemptSeconds {
  /** Now. */
  readonly now: number;
  /** Block expiry. */
  readonly blockExpires: number;
  /** Pending-row expiry. */
  readonly unauthExpires: number;
  /** Passed-row expiry. */
  readonly authExpires: number;
}

/**
 * Check a triplet (all fields strings) and convert the attempt times to whole seconds.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the bad field
 */
export function parseGreylistAttempt(
  triplet: GreylistTriplet,
  times: GreylistAttemptTimes,
): GreylistAttemptSeconds {
  for (const field of ['sender', 'senderDomain', 'recipient', 'recipientDomain', 'clientKey'] as const) {
    if (typeof triplet[field] !== 'string') {
      throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `triplet.${field} must be a string`, {
        value: triplet[field],
      });
    }
  }
  if (triplet.clientKey === '') {
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', 'triplet.clientKey must not be empty', {
      value: '',
    });
  }
  return {
    now: toUnixSeconds(times.now, 'now'),
    blockExpires: toUnixSeconds(times.blockExpiresAt, 'blockExpiresAt'),
    unauthExpires: toUnixSeconds(times.unauthExpiresAt, 'unauthExpiresAt'),
    authExpires: toUnixSeconds(times.authExpiresAt, 'authExpiresAt'),
  };
}

/**
 * The widths, in characters, of the `greylisting_tracking` columns in iRedAPD's schema. A longer value cannot
 * be stored (MySQL in strict mode and PostgreSQL refuse it; truncating it would merge distinct triplets).
 */
export const GREYLIST_TRACKING_WIDTHS: Readonly<Record<keyof GreylistTriplet, number>> = Object.freeze({
  sender: 255,
  senderDomain: 255,
  recipient: 255,
  recipientDomain: 255,
  clientKey: 40,
});

/** Characters (code points), as the database counts them. */
function characters(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Whether every value of `triplet` fits its `greylisting_tracking` column ({@link GREYLIST_TRACKING_WIDTHS}). */
export function fitsTrackingTable(triplet: GreylistTriplet): boolean {
  for (const field of Object.keys(GREYLIST_TRACKING_WIDTHS) as (keyof GreylistTriplet)[]) {
    const value = triplet[field];
    // Code points are at most as many as UTF-16 units: count them only when the units exceed the width.
    if (
      value.length > GREYLIST_TRACKING_WIDTHS[field] &&
      characters(value) > GREYLIST_TRACKING_WIDTHS[field]
    ) {
      return false;
    }
  }
  return true;
}

/**
 * The row a first attempt creates (outcome `new`): seen now, blocked once, pending until the unauthenticated
 * lifetime ends; times in whole seconds, as every store keeps them.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed triplet or times
 */
export function firstAttemptState(
  triplet: GreylistTriplet,
  times: GreylistAttemptTimes,
): GreylistTripletState {
  const t = parseGreylistAttempt(triplet, times);
  return {
    sender: triplet.sender,
    senderDomain: triplet.senderDomain,
    recipient: triplet.recipient,
    recipientDomain: triplet.recipientDomain,
    clientKey: triplet.clientKey,
    firstSeenAt: fromUnixSeconds(t.now),
    blockExpiresAt: fromUnixSeconds(t.blockExpires),
    recordExpiresAt: fromUnixSeconds(t.unauthExpires),
    blockedCount: 1,
    passed: false,
  };
}

/**
 * Canonicalise an account used as a filter or key (same forms as {@link GREYLIST_ACCOUNT_TYPES}).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the value
 */
export function parseGreylistAccount(account: string): string {
  return parseAccount(String(account), GREYLIST_ACCOUNT_TYPES).account;
}
