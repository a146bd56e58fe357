/**
 * Account forms: the kinds of value iRedAPD stores as a list owner, a list entry or a setting's account
 * (`user@example.com`, `@example.com`, `@.example.com`, `192.0.2.0/24`, `user@*` …), how to tell them apart,
 * and the two priority tables iRedAPD attaches to them. Pure functions, no I/O.
 *
 * Classification follows iRedAPD's `is_valid_amavisd_address` rule by rule, in its order, with its
 * prefix-matching e-mail and domain predicates. Deviations (see docs/iredapd-compatibility.md): networks are
 * typed `cidr` (iRedAPD says `cidr_network`, which its ACCOUNT_PRIORITIES table misses, giving them 0), netmask
 * forms are not networks, and a wildcard IP must be four groups that are each `*` or an octet, with at least
 * one `*`.
 */

import { isDomain, isEmail } from './address.ts';
import { parseWildcardIPv4 } from './candidates.ts';
import { PolicydError } from './errors.ts';
import { normalizeIp, parseNetwork } from './ip.ts';

/** The kinds of account iRedAPD knows. */
export type AccountType =
  /** A single address: `user@example.com`. */
  | 'email'
  /** A local part on any domain: `user@*` (amavisd_wblist senders). */
  | 'wildcard_addr'
  /** One IPv4 or IPv6 address: `192.0.2.1`, `2001:db8::1`. */
  | 'ip'
  /** An IPv4 address with `*` octets: `192.0.2.*`, `192.*.*.*`. */
  | 'wildcard_ip'
  /** A strict IPv4 or IPv6 network: `192.0.2.0/24`, `2001:db8::/32`. */
  | 'cidr'
  /** One domain, without its subdomains: `@example.com`. */
  | 'domain'
  /** A domain and all its subdomains: `@.example.com`. */
  | 'subdomain'
  /** Every domain under a top-level label: `@.com`. */
  | 'top_level_domain'
  /** Every client IP address, one counter each (throttle): `@ip`. */
  | 'catchall_ip'
  /** Everybody: `@.`. */
  | 'catchall';

/** Every {@link AccountType}, highest {@link ACCOUNT_PRIORITIES} first. */
export const ACCOUNT_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'wildcard_addr',
  'ip',
  'wildcard_ip',
  'cidr',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall_ip',
  'catchall',
]);

/**
 * iRedAPD's `ACCOUNT_PRIORITIES` (libs/__init__.py): the priority greylisting settings and throttle settings
 * store with an account; higher wins. iRedAPD gives networks 0 because its classifier's type name
 * (`cidr_network`) is not a key of this table; here networks get the intended 70.
 */
export const ACCOUNT_PRIORITIES: Readonly<Record<AccountType, number>> = Object.freeze({
  email: 100,
  wildcard_addr: 90,
  ip: 80,
  wildcard_ip: 70,
  cidr: 70,
  domain: 60,
  subdomain: 50,
  top_level_domain: 40,
  catchall_ip: 0,
  catchall: 0,
});

/**
 * iRedAPD's `MAILADDR_PRIORITIES` (libs/utils.py): the priority written to `amavisd.mailaddr.priority` and
 * `amavisd.users.priority`; higher wins.
 */
export const MAILADDR_PRIORITIES: Readonly<Record<AccountType, number>> = Object.freeze({
  email: 10,
  ip: 9,
  wildcard_ip: 8,
  cidr: 7,
  wildcard_addr: 7,
  domain: 5,
  subdomain: 3,
  top_level_domain: 2,
  catchall_ip: 1,
  catchall: 0,
});

/** How each form is named and written, for error messages and docs. */
const FORMS: Readonly<Record<AccountType, string>> = Object.freeze({
  email: 'e-mail address (user@example.com)',
  wildcard_addr: 'wildcard address (user@*)',
  ip: 'IP address (192.0.2.1, 2001:db8::1)',
  wildcard_ip: 'wildcard IPv4 address (192.0.2.*)',
  cidr: 'network (192.0.2.0/24, 2001:db8::/32)',
  domain: 'domain (@example.com)',
  subdomain: 'domain with subdomains (@.example.com)',
  top_level_domain: 'top-level domain (@.com)',
  catchall_ip: 'every IP address (@ip)',
  catchall: 'everybody (@.)',
});

// iRedAPD's domain check also refuses these characters anywhere in the value (its pattern is a prefix match).
// `\w` as Python 3 understands it; both patterns are prefix matches, as in iRedAPD.
const TOP_LEVEL_DOMAIN = /^[a-z0-9-]{2,25}/i;
const WILDCARD_ADDR = /^[\p{L}\p{N}_-][\p{L}\p{N}_\-.+=]*@\*/u;

/**
 * The form of an account, tried in iRedAPD's order: `@.` (catchall), `@.` + domain (subdomain), `@.` + label
 * (top_level_domain), `@ip` (catchall_ip), `@` + domain (domain), e-mail, `local@*` (wildcard_addr), IP
 * address, strict network (cidr), wildcard IPv4. Returns `undefined` for anything else (`@com`,
 * `example.com`, `user@localhost`, `@.x`, `1.2.3.4/24`). The value is taken as given: use
 * {@link parseAccount} to trim, lower-case and canonicalise.
 */
export function classifyAccount(value: string): AccountType | undefined {
  if (value.startsWith('@.')) {
    if (value === '@.') return 'catchall';
    const domain = value.slice(2);
    if (isDomain(domain)) return 'subdomain';
    if (TOP_LEVEL_DOMAIN.test(domain)) return 'top_level_domain';
    return undefined;
  }
  if (value.startsWith('@')) {
    if (value === '@ip') return 'catchall_ip';
    return isDomain(value.slice(1)) ? 'domain' : undefined;
  }
  if (isEmail(value)) return 'email';
  if (WILDCARD_ADDR.test(value)) return 'wildcard_addr';
  if (normalizeIp(value) !== undefined) return 'ip';
  if (parseNetwork(value) !== undefined) return 'cidr';
  if (parseWildcardIPv4(value) !== undefined) return 'wildcard_ip';
  return undefined;
}

/**
 * The {@link ACCOUNT_PRIORITIES} priority of an account (greylisting and throttle settings), or `undefined`
 * when the value is not a valid account. iRedAPD's `get_account_priority` gives 0 there; write `?? 0` to
 * reproduce it.
 */
export function accountPriority(value: string): number | undefined {
  const type = classifyAccount(value);
  return type === undefined ? undefined : ACCOUNT_PRIORITIES[type];
}

/**
 * The {@link MAILADDR_PRIORITIES} priority of an account (amavisd `mailaddr` and `users` rows), or `undefined`
 * when the value is not a valid account (iRedAPD does not store those).
 */
export function mailaddrPriority(value: string): number | undefined {
  const type = classifyAccount(value);
  return type === undefined ? undefined : MAILADDR_PRIORITIES[type];
}

/** A validated account, as {@link parseAccount} returns it. */
export interface ParsedAccount {
  /** The account in the form to store and compare: trimmed, lower-cased, IPs and networks canonical. */
  readonly account: string;
  /** Its form. */
  readonly type: AccountType;
}

/**
 * Validates an account given to an admin operation: trims and lower-cases it, classifies it
 * ({@link classifyAccount}) and canonicalises IP addresses (`2001:DB8:0::1` → `2001:db8::1`, `::ffff:192.0.2.1`
 * → `192.0.2.1`) and networks (`2001:DB8::/32` → `2001:db8::/32`), so stored values compare equal to what
 * Postfix sends.
 *
 * @param allowed - the forms accepted here; all of them when omitted
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the value and the accepted forms, when the value is
 *   not an account or not of an allowed form
 *
 * @example
 * ```ts
 * parseAccount(' User@Example.COM ');               // { account: 'user@example.com', type: 'email' }
 * parseAccount('192.0.2.1', ['email', 'domain']);    // throws POLICYD_ERR_INVALID_ACCOUNT
 * ```
 */
export function parseAccount(value: string, allowed: readonly AccountType[] = ACCOUNT_TYPES): ParsedAccount {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  const type = text === '' ? undefined : classifyAccount(text);
  const forms = allowed.map((t) => FORMS[t]).join(', ');
  const expected = forms === '' ? 'no form is accepted here' : `expected one of: ${forms}`;
  if (type === undefined) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_ACCOUNT',
      `Invalid account ${JSON.stringify(value)}: ${expected}`,
      { value },
    );
  }
  if (!allowed.includes(type)) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_ACCOUNT',
      `Account ${JSON.stringify(value)} has the form ${FORMS[type]}, not accepted here: ${expected}`,
      { value },
    );
  }
  let account = text;
  if (type === 'ip') account = normalizeIp(text) ?? text;
  else if (type === 'cidr') account = parseNetwork(text)?.cidr ?? text;
  return Object.freeze({ account, type });
}
