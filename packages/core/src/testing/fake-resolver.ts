/**
 * A scripted DNS resolver for tests: answers from a table, fails on demand, records every query.
 */

import type { DnsResolver, MxRecord } from '../dns.ts';

/** Record types the fake answers. */
export type FakeRecordType = 'TXT' | 'A' | 'AAAA' | 'MX';

/** What one name answers: records per type, or a `node:dns` error code for the whole name. */
export interface FakeZoneEntry {
  /** TXT records, each as its list of character-strings. */
  readonly TXT?: readonly (readonly string[])[];
  /** IPv4 addresses. */
  readonly A?: readonly string[];
  /** IPv6 addresses. */
  readonly AAAA?: readonly string[];
  /** MX records. */
  readonly MX?: readonly MxRecord[];
  /** Fail every query for this name with this code (`ETIMEOUT`, `ESERVFAIL` …). */
  readonly error?: string;
  /** Answer only after this many milliseconds (real time); combine with a deadline to test timeouts. */
  readonly delayMs?: number;
}

/** One query the fake received. */
export interface FakeQuery {
  /** The queried name, lower-cased. */
  readonly name: string;
  /** The record type. */
  readonly type: FakeRecordType;
}

/** A {@link DnsResolver} that answers from a table and remembers the queries. */
export interface FakeResolver extends DnsResolver {
  /** Every query received, in order. */
  readonly queries: readonly FakeQuery[];
  /** Add or replace the records of a name. */
  set(name: string, entry: FakeZoneEntry): void;
}

function dnsError(code: string, syscall: string, name: string): Error {
  return Object.assign(new Error(`${syscall} ${code} ${name}`), { code, hostname: name, syscall });
}

/**
 * Create a fake resolver. A name missing from the table is NXDOMAIN (`ENOTFOUND`); a known name without
 * records of the asked type answers `ENODATA`, as `node:dns` does.
 *
 * @example
 * ```ts
 * const dns = createFakeResolver({ 'example.com': { TXT: [['v=spf1 ip4:192.0.2.0/24 -all']] } });
 * await dns.resolveTxt('example.com'); // [['v=spf1 ip4:192.0.2.0/24 -all']]
 * ```
 */
export function createFakeResolver(zone: Readonly<Record<string, FakeZoneEntry>> = {}): FakeResolver {
  const table = new Map(Object.entries(zone).map(([name, entry]) => [name.toLowerCase(), entry]));
  const queries: FakeQuery[] = [];

  async function answer<T>(hostname: string, type: FakeRecordType, syscall: string): Promise<T[]> {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    queries.push({ name, type });
    const entry = table.get(name);
    if (entry?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, entry.delayMs));
    if (entry === undefined) throw dnsError('ENOTFOUND', syscall, name);
    if (entry.error !== undefined) throw dnsError(entry.error, syscall, name);
    const records = entry[type] as readonly T[] | undefined;
    if (records === undefined || records.length === 0) throw dnsError('ENODATA', syscall, name);
    return records.map((r) => (Array.isArray(r) ? ([...r] as T) : r));
  }

  return {
    queries,
    set: (name, entry) => void table.set(name.toLowerCase(), entry),
    resolveTxt: (name) => answer<string[]>(name, 'TXT', 'queryTxt'),
    resolve4: (name) => answer<string>(name, 'A', 'queryA'),
    resolve6: (name) => answer<string>(name, 'AAAA', 'queryAaaa'),
    resolveMx: (name) => answer<MxRecord>(name, 'MX', 'queryMx'),
  };
}
