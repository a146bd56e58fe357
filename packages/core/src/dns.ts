/**
 * The DNS contract plugins use (SPF, MX, reverse names). A subset of `node:dns/promises`' `Resolver`, so
 * `new Resolver({ timeout, tries })` can be passed as is and tests can pass a fake.
 */

/** One MX record. */
export interface MxRecord {
  /** Mail exchanger host name. */
  readonly exchange: string;
  /** Preference; lower is preferred. */
  readonly priority: number;
}

/**
 * DNS look-ups, with Node's error conventions: a failed look-up rejects with an error whose `code` is one of
 * `node:dns`'s codes (`ENOTFOUND` for NXDOMAIN, `ENODATA` for no records of that type, `ETIMEOUT`, `ESERVFAIL` …).
 */
export interface DnsResolver {
  /** TXT records; each record is the list of its character-strings. */
  resolveTxt(hostname: string): Promise<string[][]>;
  /** A records. */
  resolve4(hostname: string): Promise<string[]>;
  /** AAAA records. */
  resolve6(hostname: string): Promise<string[]>;
  /** MX records. */
  resolveMx(hostname: string): Promise<MxRecord[]>;
}
