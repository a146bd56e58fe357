/**
 * SPF expansion for the whitelist-domain refresh: the addresses and networks a domain's SPF record authorises
 * (`ip4`, `ip6`, `a`, `mx` with their CIDR lengths, through `include` and `redirect`), or, without an SPF
 * record, the addresses of its MX hosts. This is what iRedAPD's `spf_to_greylist_whitelists.py` collects,
 * done by the RFC 7208 rules: at most 10 DNS-querying terms and 2 void look-ups per domain, `redirect` only
 * when the record has no `all`, only `+` (or unqualified) mechanisms, AAAA as well as A, and `ptr`/`exists`
 * skipped with a note (they cannot be turned into networks).
 *
 * It is an expansion, not an evaluation: macros (`%{…}`) cannot be expanded without a message, so terms that
 * use them are skipped with a note.
 */

import {
  clientNetwork,
  type DnsResolver,
  inspectNetwork,
  isDomain,
  type MxRecord,
  normalizeIp,
} from '@policyd/core';
import { dnsErrorCode, isVoidAnswer, untilAborted } from './dns-deadline.ts';

/** Options of {@link expandSpf}. */
export interface SpfExpansionOptions {
  /** DNS to query. */
  readonly dns: DnsResolver;
  /** Deadline of each DNS query in milliseconds. Default 3000 (iRedAPD's `DNS_QUERY_TIMEOUT`). */
  readonly timeoutMs?: number;
  /** DNS-querying terms allowed (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`). Default 10 (RFC 7208). */
  readonly maxLookups?: number;
  /** Look-ups allowed to find nothing. Default 2 (RFC 7208). */
  readonly maxVoidLookups?: number;
  /** Stops the expansion (it then fails as a DNS timeout). */
  readonly signal?: AbortSignal;
}

/** Where the networks of an expansion came from. */
export type SpfExpansionSource = 'spf' | 'mx' | 'none';

/** The outcome of {@link expandSpf}. */
export interface SpfExpansion {
  /** The domain, lower-case. */
  readonly domain: string;
  /** `spf`: from its SPF record; `mx`: no SPF record, from its MX hosts; `none`: neither. */
  readonly source: SpfExpansionSource;
  /** Addresses and networks, canonical, without duplicates, in the order found. */
  readonly networks: readonly string[];
  /** DNS-querying terms counted against the limit. */
  readonly lookups: number;
  /** Look-ups that found nothing. */
  readonly voidLookups: number;
  /** What was skipped and why (ptr, exists, macros, `+all`, limits, invalid terms). */
  readonly notes: readonly string[];
  /**
   * Set when the expansion is incomplete for a reason that may go away (a DNS timeout or server failure) or
   * cannot be interpreted (several SPF records): the networks must not replace the stored ones.
   */
  readonly failure?: string;
}

/** Networks broader than these are never whitelisted (a provider's typo must not open the whole Internet). */
const MIN_PREFIX = Object.freeze({ ipv4: 8, ipv6: 16 });
/** RFC 7208 4.6.4: an `mx` term looks at no more than 10 MX hosts. */
const MAX_MX_HOSTS = 10;

class DnsFailure extends Error {}

interface Walk {
  readonly dns: DnsResolver;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly maxLookups: number;
  readonly maxVoid: number;
  readonly networks: Set<string>;
  readonly notes: string[];
  readonly visited: Set<string>;
  lookups: number;
  voids: number;
  stopped: boolean;
}

async function ask<T>(walk: Walk, what: string, run: () => Promise<T>): Promise<T | undefined> {
  const timeout = AbortSignal.timeout(walk.timeoutMs);
  const signal = walk.signal === undefined ? timeout : AbortSignal.any([timeout, walk.signal]);
  try {
    return await untilAborted(run(), signal, what);
  } catch (err) {
    if (isVoidAnswer(err)) return undefined;
    if (dnsErrorCode(err) === 'EBADNAME') {
      walk.notes.push(`${what}: not a valid DNS name, skipped`);
      return undefined;
    }
    throw new DnsFailure(
      `${what}: ${dnsErrorCode(err) ?? (err instanceof Error ? err.message : String(err))}`,
    );
  }
}

function hostName(value: string): string {
  return value.trim().toLowerCase().replace(/\.$/, '');
}

async function addresses(walk: Walk, name: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([
    ask(walk, `A ${name}`, () => walk.dns.resolve4(name)),
    ask(walk, `AAAA ${name}`, () => walk.dns.resolve6(name)),
  ]);
  return [...(v4 ?? []), ...(v6 ?? [])];
}

async function mxHosts(walk: Walk, name: string): Promise<string[] | undefined> {
  const records = await ask<MxRecord[]>(walk, `MX ${name}`, () => walk.dns.resolveMx(name));
  if (records === undefined) return undefined;
  // A null MX (RFC 7505, exchange ".") means "accepts no mail" and has no host.
  return [...records]
    .sort((a, b) => a.priority - b.priority)
    .map((r) => hostName(r.exchange))
    .filter((h) => h !== '');
}

function countLookup(walk: Walk, term: string, domain: string): boolean {
  if (walk.lookups >= walk.maxLookups) {
    walk.notes.push(
      `${domain}: lookup limit of ${walk.maxLookups} reached at "${term}"; the rest of the record is ignored`,
    );
    walk.stopped = true;
    return false;
  }
  walk.lookups++;
  return true;
}

function countVoid(walk: Walk, what: string): void {
  walk.voids++;
  walk.notes.push(`${what}: no records`);
  if (walk.voids > walk.maxVoid) {
    walk.notes.push(`void lookup limit of ${walk.maxVoid} exceeded; the rest of the record is ignored`);
    walk.stopped = true;
  }
}

function addAddress(
  walk: Walk,
  ip: string,
  prefixes: { v4Prefix: number; v6Prefix: number },
  origin: string,
) {
  const canonical = normalizeIp(ip);
  if (canonical === undefined) return;
  const family = canonical.includes(':') ? 'ipv6' : 'ipv4';
  const prefix = family === 'ipv4' ? prefixes.v4Prefix : prefixes.v6Prefix;
  if (prefix === (family === 'ipv4' ? 32 : 128)) {
    walk.networks.add(canonical);
  } else if (prefix < MIN_PREFIX[family]) {
    walk.notes.push(`${origin}: /${prefix} around ${canonical} is too broad, skipped`);
  } else {
    const network = clientNetwork(canonical, prefixes);
    if (network !== undefined) walk.networks.add(network);
  }
}

/** The address or network of an `ip4`/`ip6` value, or a note saying why it is skipped. */
function literal(kind: 'ip4' | 'ip6', value: string): { value: string; note?: string } | { note: string } {
  const invalid = { note: `is not a valid ${kind} term, skipped` };
  // ip6 may still name an IPv4-mapped address or network, which is an IPv4 client (RFC 7208 5).
  if (value.includes(':') !== (kind === 'ip6')) return invalid;
  if (!value.includes('/')) {
    const ip = normalizeIp(value);
    return ip === undefined ? invalid : { value: ip };
  }
  const inspected = inspectNetwork(value);
  if (!inspected.ok && inspected.reason === 'invalid') return invalid;
  const { network } = inspected;
  if (network.prefixLength < MIN_PREFIX[network.family]) return { note: 'is too broad, skipped' };
  const text =
    network.prefixLength === (network.family === 'ipv4' ? 32 : 128) ? network.address : network.cidr;
  // RFC 7208 5.6 compares under the mask, so host bits do not matter; iRedAPD dropped such networks.
  return inspected.ok ? { value: text } : { value: text, note: `has host bits set, used as ${network.cidr}` };
}

function addLiteral(walk: Walk, domain: string, term: string, kind: 'ip4' | 'ip6', value: string): void {
  const found = literal(kind, value);
  if (found.note !== undefined) walk.notes.push(`${domain}: "${term}" ${found.note}`);
  if ('value' in found) walk.networks.add(found.value);
}

const A_OR_MX = /^(?::([^/]+))?(?:\/(\d{1,2}))?(?:\/\/(\d{1,3}))?$/;

async function addressTerm(walk: Walk, domain: string, term: string, kind: 'a' | 'mx', rest: string) {
  const parsed = A_OR_MX.exec(rest);
  const v4Prefix = Number(parsed?.[2] ?? 32);
  const v6Prefix = Number(parsed?.[3] ?? 128);
  const target = hostName(parsed?.[1] ?? domain);
  if (parsed === null || v4Prefix > 32 || v6Prefix > 128 || target === '') {
    walk.notes.push(`${domain}: "${term}" is not a valid ${kind} term, skipped`);
    return;
  }
  if (target.includes('%')) {
    walk.notes.push(`${domain}: "${term}" uses a macro, skipped`);
    return;
  }
  const prefixes = { v4Prefix, v6Prefix };
  if (kind === 'a') {
    const found = await addresses(walk, target);
    if (found.length === 0) return countVoid(walk, `a:${target}`);
    for (const ip of found) addAddress(walk, ip, prefixes, `a:${target}`);
    return;
  }
  const hosts = await mxHosts(walk, target);
  if (hosts === undefined || hosts.length === 0) return countVoid(walk, `mx:${target}`);
  if (hosts.length > MAX_MX_HOSTS) {
    walk.notes.push(`mx:${target}: ${hosts.length} MX hosts, only the first ${MAX_MX_HOSTS} are used`);
  }
  // Address look-ups of MX hosts count neither as terms nor as void look-ups (RFC 7208 4.6.4).
  const found = await Promise.all(hosts.slice(0, MAX_MX_HOSTS).map((host) => addresses(walk, host)));
  for (const ip of found.flat()) addAddress(walk, ip, prefixes, `mx:${target}`);
}

type SpfRecord =
  | { readonly kind: 'record'; readonly terms: readonly string[] }
  | { readonly kind: 'void' }
  | { readonly kind: 'none' }
  | { readonly kind: 'multiple' };

async function spfRecord(walk: Walk, name: string): Promise<SpfRecord> {
  const txt = await ask(walk, `TXT ${name}`, () => walk.dns.resolveTxt(name));
  if (txt === undefined) return { kind: 'void' };
  // A record split into several character-strings is one string (RFC 7208 3.3).
  const records = txt.map((chunks) => chunks.join('').trim()).filter((r) => /^v=spf1(?:\s|$)/i.test(r));
  const [record] = records;
  if (record === undefined) return { kind: 'none' };
  if (records.length > 1) return { kind: 'multiple' };
  return { kind: 'record', terms: record.split(/\s+/).slice(1) };
}

async function follow(walk: Walk, from: string, kind: 'include' | 'redirect', target: string): Promise<void> {
  const name = hostName(target);
  if (name.includes('%')) {
    walk.notes.push(`${from}: "${kind}:${target}" uses a macro, skipped`);
    return;
  }
  if (!isDomain(name)) {
    walk.notes.push(`${from}: "${kind}:${target}" is not a domain, skipped`);
    return;
  }
  // A domain already expanded adds nothing new (and include loops end here).
  if (walk.visited.has(name)) return;
  walk.visited.add(name);
  const record = await spfRecord(walk, name);
  if (record.kind === 'record') await walkRecord(walk, name, record.terms);
  else if (record.kind === 'void') countVoid(walk, `${kind}:${name}`);
  else if (record.kind === 'none') walk.notes.push(`${kind}:${name}: no SPF record`);
  else walk.notes.push(`${kind}:${name}: several SPF records, skipped`);
}

const MODIFIER = /^([a-z][a-z0-9_.-]*)=(.*)$/i;
const MECHANISM = /^([a-z][a-z0-9]*)(.*)$/i;

async function walkRecord(walk: Walk, domain: string, terms: readonly string[]): Promise<void> {
  let redirect: string | undefined;
  let hasAll = false;
  for (const term of terms) {
    if (walk.stopped) return;
    const modifier = MODIFIER.exec(term);
    if (modifier !== null) {
      // exp= and unknown modifiers do not authorise anything.
      if (modifier[1]?.toLowerCase() === 'redirect') redirect = modifier[2] ?? '';
      continue;
    }
    const first = term.charAt(0);
    const qualified = first !== '' && '+-~?'.includes(first);
    const qualifier = qualified ? first : '+';
    const mechanism = MECHANISM.exec(qualified ? term.slice(1) : term);
    const name = mechanism?.[1]?.toLowerCase() ?? '';
    const rest = mechanism?.[2] ?? '';
    // Only + mechanisms authorise; the others still cost a look-up in an evaluation.
    const authorises = qualifier === '+';
    switch (name) {
      case 'all':
        hasAll = true;
        if (authorises) walk.notes.push(`${domain}: "${term}" ignored (it authorises every address)`);
        break;
      case 'ip4':
      case 'ip6':
        if (authorises) {
          if (rest.startsWith(':')) addLiteral(walk, domain, term, name, rest.slice(1));
          else walk.notes.push(`${domain}: "${term}" is not a valid ${name} term, skipped`);
        }
        break;
      case 'include':
        if (!countLookup(walk, term, domain)) return;
        if (authorises) await follow(walk, domain, 'include', rest.startsWith(':') ? rest.slice(1) : '');
        break;
      case 'a':
      case 'mx':
        if (!countLookup(walk, term, domain)) return;
        if (authorises) await addressTerm(walk, domain, term, name, rest);
        break;
      case 'ptr':
      case 'exists':
        if (!countLookup(walk, term, domain)) return;
        if (authorises)
          walk.notes.push(`${domain}: "${term}" skipped (${name} cannot be turned into networks)`);
        break;
      default:
        walk.notes.push(`${domain}: unknown term "${term}" skipped`);
    }
  }
  // RFC 7208 6.1: redirect applies only to a record without an "all" mechanism.
  if (
    redirect !== undefined &&
    !hasAll &&
    !walk.stopped &&
    countLookup(walk, `redirect=${redirect}`, domain)
  ) {
    await follow(walk, domain, 'redirect', redirect);
  }
}

/**
 * Expand a domain's SPF record (or, without one, its MX hosts) to addresses and networks. Never rejects on
 * DNS trouble: a temporary failure is reported in `failure` and the networks are then incomplete.
 *
 * @example
 * ```ts
 * const { networks, notes } = await expandSpf('example.com', { dns: new Resolver() });
 * // ['192.0.2.0/24', '2001:db8::/32', '198.51.100.25']
 * ```
 */
export async function expandSpf(domain: string, options: SpfExpansionOptions): Promise<SpfExpansion> {
  const name = hostName(domain);
  const walk: Walk = {
    dns: options.dns,
    timeoutMs: options.timeoutMs ?? 3_000,
    signal: options.signal,
    maxLookups: options.maxLookups ?? 10,
    maxVoid: options.maxVoidLookups ?? 2,
    networks: new Set(),
    notes: [],
    visited: new Set([name]),
    lookups: 0,
    voids: 0,
    stopped: false,
  };
  let source: SpfExpansionSource = 'spf';
  let failure: string | undefined;
  try {
    // The domain's own TXT query is not counted (RFC 7208 4.6.4 counts terms, not the first record).
    const record = await spfRecord(walk, name);
    if (record.kind === 'record') {
      await walkRecord(walk, name, record.terms);
    } else if (record.kind === 'multiple') {
      failure = `${name}: several SPF records (RFC 7208 permerror)`;
    } else {
      source = 'mx';
      const hosts = await mxHosts(walk, name);
      if (hosts === undefined || hosts.length === 0) {
        source = 'none';
        walk.notes.push(`${name}: no SPF record and no MX hosts`);
      } else {
        const found = await Promise.all(hosts.map((host) => addresses(walk, host)));
        for (const ip of found.flat()) addAddress(walk, ip, { v4Prefix: 32, v6Prefix: 128 }, `mx:${name}`);
      }
    }
  } catch (err) {
    if (!(err instanceof DnsFailure)) throw err;
    failure = err.message;
  }
  return {
    domain: name,
    source,
    networks: [...walk.networks],
    lookups: walk.lookups,
    voidLookups: walk.voids,
    notes: walk.notes,
    ...(failure === undefined ? {} : { failure }),
  };
}
