/**
 * Candidate expansion: the stored values that can match a sender, recipient or client, as iRedAPD builds them
 * for its `IN (…)` lookups, plus a real wildcard-IPv4 matcher. Pure functions, no I/O.
 *
 * iRedAPD only ever matches a stored wildcard IP such as `192.168.*.*` by generating wildcard forms of the
 * client and comparing strings, so an entry matches only if its generator happens to produce that exact
 * string (its bugs B9, B16, B26). {@link matchesWildcardIPv4} and {@link everyWildcardIPv4} match any
 * `*` position instead.
 */

import { isEmail, localPartOf } from './address.ts';
import { normalizeIp } from './ip.ts';

/**
 * iRedAPD's policy addresses of an e-mail address (`get_policy_addresses_from_email`): the address, `@domain`,
 * `@.`, then `@.` + each domain suffix, longest first. A value that is not an e-mail address (`''` included)
 * gives `['@.']`. The value is trimmed; duplicates (from a trailing dot) are dropped.
 *
 * @example
 * ```ts
 * policyAddresses('u@a.b.example.com');
 * // ['u@a.b.example.com', '@a.b.example.com', '@.', '@.a.b.example.com', '@.b.example.com', '@.example.com', '@.com']
 * ```
 */
export function policyAddresses(email: string): string[] {
  const address = email.trim();
  if (!isEmail(address)) return ['@.'];
  const domain = address.slice(address.indexOf('@') + 1);
  const labels = domain.split('.');
  const result = new Set([address, `@${domain}`, '@.']);
  for (let i = 0; i < labels.length; i++) result.add(`@.${labels.slice(i).join('.')}`);
  return [...result];
}

/**
 * amavisd_wblist's wildcard sender for an address: the local part cut at its first `+`, then `@*`
 * (`john+news@example.com` → `john@*`). iRedAPD hard-codes `+` here, whatever the recipient delimiter.
 */
export function wildcardAddress(email: string): string {
  const local = localPartOf(email.trim());
  const plus = local.indexOf('+');
  return `${plus === -1 ? local : local.slice(0, plus)}@*`;
}

/** Options for {@link wildcardIPv4}. */
export interface WildcardIPv4Options {
  /**
   * iRedAPD's `ENABLE_ALL_WILDCARD_IP`: every pattern where one contiguous run of octets is `*` (10 patterns)
   * instead of only `a.b.c.*` and `a.b.*.d`. Default `false`.
   */
  readonly all?: boolean;
}

/** Octet runs [start, end) that iRedAPD's ENABLE_ALL_WILDCARD_IP replaces by `*`, in a stable order. */
const CONTIGUOUS_RUNS: readonly (readonly [number, number])[] = Object.freeze(
  [0, 1, 2, 3].flatMap((start) =>
    [1, 2, 3, 4].filter((end) => end > start).map((end) => [start, end] as const),
  ),
);

function ipv4Octets(ip: string): string[] | undefined {
  const canonical = normalizeIp(ip);
  return canonical === undefined || canonical.includes(':') ? undefined : canonical.split('.');
}

/**
 * iRedAPD's wildcard forms of a client address (`wildcard_ipv4`). By default `a.b.c.*` and `a.b.*.d`; with
 * `all: true` the 10 patterns where one contiguous run of octets is `*` (`*.b.c.d`, `*.*.c.d`, `*.*.*.d`,
 * `*.*.*.*`, `a.*.c.d`, `a.*.*.d`, `a.*.*.*`, `a.b.*.d`, `a.b.*.*`, `a.b.c.*`). IPv6 addresses and invalid
 * values give `[]`; IPv4-mapped IPv6 counts as IPv4.
 *
 * Use this to reproduce which stored wildcard entries iRedAPD matches; use {@link everyWildcardIPv4} or
 * {@link matchesWildcardIPv4} to match any wildcard entry.
 */
export function wildcardIPv4(ip: string, options: WildcardIPv4Options = {}): string[] {
  const octets = ipv4Octets(ip);
  if (octets === undefined) return [];
  const [a, b, c, d] = octets;
  if (options.all !== true) return [`${a}.${b}.${c}.*`, `${a}.${b}.*.${d}`];
  return CONTIGUOUS_RUNS.map(([start, end]) =>
    octets.map((o, i) => (i >= start && i < end ? '*' : o)).join('.'),
  );
}

/**
 * Every wildcard form of an IPv4 client: the 15 patterns with any non-empty set of octets replaced by `*`
 * (`a.*.c.*` and the other non-contiguous ones included). A canonical wildcard pattern matches the client
 * exactly when it is in this list, so `stored IN (everyWildcardIPv4(ip))` is a real wildcard match in SQL.
 * IPv6 addresses and invalid values give `[]`.
 */
export function everyWildcardIPv4(ip: string): string[] {
  const octets = ipv4Octets(ip);
  if (octets === undefined) return [];
  const forms: string[] = [];
  // Bit i of mask set → octet i becomes '*'; masks 1..15 are the non-empty subsets.
  for (let mask = 1; mask < 16; mask++)
    forms.push(octets.map((o, i) => ((mask >> i) & 1 ? '*' : o)).join('.'));
  return forms;
}

/** One octet of a {@link WildcardIPv4}: a number 0–255 or `'*'` for any. */
export type WildcardOctet = number | '*';

/** A parsed wildcard IPv4 pattern: four octets, at least one of them `'*'`. */
export type WildcardIPv4 = readonly [WildcardOctet, WildcardOctet, WildcardOctet, WildcardOctet];

const OCTET = /^(?:\*|0|[1-9][0-9]{0,2})$/;

/**
 * Parses a wildcard IPv4 pattern: four dot-separated groups, each `*` or a decimal octet (0–255, no leading
 * zeros), at least one `*` (`192.168.*.*`, `*.*.*.*`, `10.*.0.*`). Returns `undefined` for anything else,
 * including a plain IP address and groups such as `1*` or `**`, which iRedAPD's classifier accepts but which
 * never match a client there either. Surrounding whitespace is ignored.
 */
export function parseWildcardIPv4(pattern: string): WildcardIPv4 | undefined {
  const groups = pattern.trim().split('.');
  if (groups.length !== 4 || !groups.includes('*')) return undefined;
  const octets: WildcardOctet[] = [];
  for (const group of groups) {
    if (!OCTET.test(group)) return undefined;
    const octet = group === '*' ? '*' : Number(group);
    if (octet !== '*' && octet > 255) return undefined;
    octets.push(octet);
  }
  return Object.freeze(octets) as unknown as WildcardIPv4;
}

/**
 * True when the IPv4 client `ip` matches the wildcard pattern: every octet that is not `*` is equal. Any
 * octet position may be `*` (`192.*.1.*` works). Never throws: an invalid pattern, an IPv6 client or a value
 * that is not an IP address gives `false`; IPv4-mapped IPv6 counts as IPv4.
 *
 * @example
 * ```ts
 * matchesWildcardIPv4('192.168.*.*', '192.168.5.6'); // true (iRedAPD: only with ENABLE_ALL_WILDCARD_IP)
 * matchesWildcardIPv4('192.*.1.*', '192.0.1.7');     // true (iRedAPD: never)
 * ```
 */
export function matchesWildcardIPv4(pattern: string | WildcardIPv4, ip: string): boolean {
  const parsed = typeof pattern === 'string' ? parseWildcardIPv4(pattern) : pattern;
  const octets = ipv4Octets(ip);
  if (parsed === undefined || octets === undefined) return false;
  return parsed.every((p, i) => p === '*' || p === Number(octets[i]));
}
