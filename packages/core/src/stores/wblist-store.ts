/**
 * White- and blacklists as Amavisd and iRedMail keep them: the `amavisd` database's `users` (local accounts
 * that own lists), `mailaddr` (the other side: addresses, domains, IPs, wildcards, networks), `wblist`
 * (inbound) and `outbound_wblist` (outbound).
 */

/** Which list a row is on: amavisd's `wb` column, `W` or `B` (compared case-sensitively). */
export type WblistList = 'whitelist' | 'blacklist';

/**
 * Inbound: a local recipient account lists senders. Outbound: a local sender account lists recipients
 * (iRedMail's `outbound_wblist`).
 */
export type WblistDirection = 'inbound' | 'outbound';

/** The inbound half of a {@link WblistStore.lookup}. */
export interface WblistInboundQuery {
  /** Local recipient account candidates (`users.email`): the recipient's policy addresses. */
  readonly accounts: readonly string[];
  /** Sender candidates (`mailaddr.email`): policy addresses, `user@*`, the client IP, its wildcard forms. */
  readonly senders: readonly string[];
  /**
   * The client IP. When given, `mailaddr` rows that are networks (IPv4 or IPv6) containing it match too,
   * whatever their first octet (iRedAPD matched IPv4 only, and only networks sharing the first octet).
   */
  readonly clientAddress?: string;
}

/** The outbound half of a {@link WblistStore.lookup}. */
export interface WblistOutboundQuery {
  /** Local sender account candidates (`users.email`): the SASL login's policy addresses, the client IP … */
  readonly accounts: readonly string[];
  /** Recipient candidates (`mailaddr.email`): the recipient's policy addresses. */
  readonly recipients: readonly string[];
  /**
   * The client IP. When given, `users` rows that are networks containing it match as accounts. (iRedAPD
   * mixed `mailaddr` network ids into the `users` ids here, its bug B14; this is the consistent reading.)
   */
  readonly clientAddress?: string;
}

/** Everything one wblist decision needs, in one call (one round trip on SQL). */
export interface WblistLookupQuery {
  /** Look up inbound entries; omit to skip the inbound stage. */
  readonly inbound?: WblistInboundQuery;
  /** Look up outbound entries; omit when there is no SASL login. */
  readonly outbound?: WblistOutboundQuery;
}

/** One list row that applies to the request. */
export interface WblistMatch {
  /** The local account that owns the entry (`users.email`). */
  readonly account: string;
  /** The account's stored priority (`users.priority`); higher is more specific. */
  readonly accountPriority: number;
  /** The other side (`mailaddr.email`): the sender (inbound) or the recipient (outbound). */
  readonly address: string;
  /** The other side's stored priority (`mailaddr.priority`). */
  readonly addressPriority: number;
  /** `W` → whitelist, `B` → blacklist. Rows with any other `wb` value are never returned. */
  readonly list: WblistList;
  /**
   * True when the client side matched as a network containing the client IP rather than by exact value:
   * the address (inbound) or the account (outbound).
   */
  readonly byNetwork: boolean;
}

/**
 * The rows that apply, per direction, in iRedAPD's precedence order with deterministic ties:
 * - inbound: account priority desc, account; then exact matches before network matches; then address priority
 *   desc, address;
 * - outbound: exact accounts before network-matched accounts; account priority desc, account; address
 *   priority desc, address.
 *
 * Ties between equal values compare strings by UTF-16 code units (JavaScript's default sort), so every
 * implementation returns the same order. iRedAPD always ranks network matches after exact ones, whatever their
 * stored priority; plugins that want another rule re-sort.
 */
export interface WblistLookupResult {
  /** Inbound matches; empty when the query had no inbound part. */
  readonly inbound: readonly WblistMatch[];
  /** Outbound matches; empty when the query had no outbound part. */
  readonly outbound: readonly WblistMatch[];
}

/** Identifies one account's list in one direction. */
export interface WblistListRef {
  /** The local account: `user@domain`, `@domain`, `@.domain`, `@.tld`, `@.` (any valid account form). */
  readonly account: string;
  /** Inbound (senders) or outbound (recipients). */
  readonly direction: WblistDirection;
  /** Whitelist or blacklist. */
  readonly list: WblistList;
}

/** Addresses to add to or remove from one list. */
export interface WblistChange extends WblistListRef {
  /** Senders (inbound) or recipients (outbound) in any valid account form; duplicates are ignored. */
  readonly addresses: readonly string[];
}

/** One stored entry of an account, as {@link WblistStore.list} reports it. */
export interface WblistEntry {
  /** The other side (`mailaddr.email`). */
  readonly address: string;
  /** Its stored priority. */
  readonly addressPriority: number;
  /** Whitelist or blacklist; `'ignored'` for rows whose `wb` is neither `W` nor `B` (they never match). */
  readonly list: WblistList | 'ignored';
  /** The raw `wb` value. */
  readonly wb: string;
}

/** A local account known to the store (`users` row). */
export interface WblistAccount {
  /** `users.email`. */
  readonly account: string;
  /** `users.priority`. */
  readonly priority: number;
}

/**
 * White/blacklist storage for the wblist plugin and its admin API.
 *
 * Decision path: one {@link WblistStore.lookup} call per request (one round trip on SQL: both directions can be one
 * `UNION ALL`; network candidates are fetched by text prefix and checked in code with
 * `storedNetworkContains`). Together with one `DomainStore.lookupDomains` call, a wblist decision costs
 * two round trips.
 *
 * Admin values are trimmed and lower-cased, IP addresses and networks canonicalised, before they are stored
 * (`mailaddr.email` and `users.email` are binary columns, matched case-sensitively). Values that are not a
 * valid account form are rejected with `POLICYD_ERR_INVALID_ACCOUNT` naming the value.
 */
export interface WblistStore {
  /**
   * The list rows that apply to a request (see {@link WblistLookupResult} for the order). Only rows whose
   * `wb` is exactly `W` or `B` count. Candidate values are compared exactly, so pass them lower-cased.
   *
   * @throws PolicydError `POLICYD_ERR_STORE` when the database fails
   */
  lookup(query: WblistLookupQuery): Promise<WblistLookupResult>;

  /**
   * Add addresses to a list, atomically. Creates the `users` row (priority from `MAILADDR_PRIORITIES`) and the
   * `mailaddr` rows that are missing; existing rows keep their stored priority. An address already on the
   * other list of the same account and direction moves to this one (as iRedAPD's `add_wblist`). Idempotent.
   *
   * @returns the canonical addresses whose entry was created or moved, in input order (empty when nothing
   *   changed)
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the first invalid account or address
   */
  add(change: WblistChange): Promise<readonly string[]>;

  /**
   * Remove addresses from a list (only entries on that list: removing from the whitelist leaves a blacklist
   * entry alone). Never creates rows: an unknown account is a no-op (iRedAPD's bug B35 created `users`
   * rows here).
   *
   * @returns the canonical addresses whose entry was removed, in input order
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the first invalid account or address
   */
  remove(change: WblistChange): Promise<readonly string[]>;

  /**
   * Remove every entry of one list of an account. Never creates rows.
   *
   * @returns how many entries were removed
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` when the account is not a valid account form
   */
  removeAll(ref: WblistListRef): Promise<number>;

  /**
   * Every stored entry of an account in one direction, both lists and rows with other `wb` values, ordered by
   * address (UTF-16 code units).
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` when the account is not a valid account form
   */
  list(ref: Omit<WblistListRef, 'list'>): Promise<readonly WblistEntry[]>;

  /**
   * Which of these accounts have a `users` row, with their stored priority; ordered by priority desc, then
   * account. Values are compared as given.
   */
  findAccounts(accounts: readonly string[]): Promise<readonly WblistAccount[]>;
}
