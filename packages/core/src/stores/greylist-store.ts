/**
 * Greylisting state as iRedAPD keeps it in its `iredapd` database: settings (`greylisting`), whitelists
 * (`greylisting_whitelists`, managed by admins and by the outbound-recipient plugin), whitelist domains and
 * the networks generated from their SPF/MX records (`greylisting_whitelist_domains`,
 * `greylisting_whitelist_domain_spf`), and one tracking row per triplet (`greylisting_tracking`).
 */

import type { CleanupOptions, CleanupResult } from './cleanup.ts';

/** Where a whitelist row lives: admin-managed (`greylisting_whitelists`) or generated from SPF/MX records. */
export type GreylistWhitelistSource = 'manual' | 'spf';

/** Everything one greylisting decision reads, in one call. */
export interface GreylistContextQuery {
  /** The recipient's policy addresses, alias-target forms included (settings and whitelist accounts). */
  readonly recipients: readonly string[];
  /**
   * Sender candidates for whitelists: the sender's policy addresses, the client IP and its wildcard forms.
   * Stored whitelist senders are compared lower-cased (as iRedAPD does); these values are lower-cased too.
   */
  readonly senders: readonly string[];
  /** The client IP, for whitelist networks (IPv4 and IPv6); `''` matches no network. */
  readonly clientAddress: string;
  /** The tracking key of the client: the IP, or its network when the plugin groups clients (/24, /64). */
  readonly clientKey: string;
  /** Current time in milliseconds since the epoch. */
  readonly now: number;
  /**
   * The request's triplet, when the caller wants its tracking row too ({@link GreylistContext.triplet}): one
   * more index look-up in the same round trip, so that a first attempt can be recorded with
   * {@link GreylistStore.recordFirstAttempts} after the answer instead of before it.
   */
  readonly triplet?: GreylistTriplet;
}

/** A whitelist row that applies to the request. */
export interface GreylistWhitelistMatch {
  /** The row's account (one of the query's recipients). */
  readonly account: string;
  /** The row's sender as stored. */
  readonly sender: string;
  /** Which table it came from. */
  readonly source: GreylistWhitelistSource;
  /** True when it matched as a network containing the client IP rather than by value. */
  readonly byNetwork: boolean;
}

/** A greylisting setting row: enable (`active`) or disable greylisting for mail from `sender` to `account`. */
export interface GreylistSetting {
  /** Local recipient scope: `user@domain`, `@domain`, `@.domain`, `@.tld`, `@.`. */
  readonly account: string;
  /** Stored account priority (ACCOUNT_PRIORITIES of the account when written by this store). */
  readonly priority: number;
  /** Sender scope as stored: address, `@domain`, `@.domain`, `@.tld`, `@.`, IP, wildcard IP, network. */
  readonly sender: string;
  /** Stored sender priority (ACCOUNT_PRIORITIES; networks 70 when written by this store). */
  readonly senderPriority: number;
  /** `active = 1`: greylist. Anything else: don't. */
  readonly active: boolean;
  /** Free text. */
  readonly comment: string;
}

/** What a greylisting decision needs from the store. */
export interface GreylistContext {
  /**
   * Whitelist rows for the recipients whose lower-cased sender is one of the query's senders, or is a strict
   * IPv4/IPv6 network containing the client IP. Manual rows first, then generated ones; each by account, then
   * sender (UTF-16 code units). Empty means not whitelisted.
   */
  readonly whitelist: readonly GreylistWhitelistMatch[];
  /**
   * Every setting row for the recipients, ordered by priority desc, sender priority desc, then account and
   * sender. The plugin walks them and the first row whose sender matches decides.
   */
  readonly settings: readonly GreylistSetting[];
  /**
   * How many triplets of this client key have passed and have not expired (`record_expired ≥ now`). iRedAPD
   * skips greylisting once one has passed; a postgrey-style option can require more.
   */
  readonly passedTriplets: number;
  /**
   * The tracking row of {@link GreylistContextQuery.triplet}: `null` when the triplet has none (its next
   * attempt is a first attempt), `undefined` when the query named no triplet.
   */
  readonly triplet?: GreylistTripletState | null;
}

/** One (sender, recipient, client) triplet. */
export interface GreylistTriplet {
  /** Sender without extension, lower-cased; `''` for the null sender. */
  readonly sender: string;
  /** Sender domain (`''` for the null sender). */
  readonly senderDomain: string;
  /** Recipient without extension, lower-cased. */
  readonly recipient: string;
  /** Recipient domain. */
  readonly recipientDomain: string;
  /** The client's tracking key (`client_address` column). */
  readonly clientKey: string;
}

/** Absolute times for {@link GreylistStore.recordAttempt}, in milliseconds since the epoch. */
export interface GreylistAttemptTimes {
  /** Now. */
  readonly now: number;
  /** `now + block time`: retries before it are too early. */
  readonly blockExpiresAt: number;
  /** `now + unauthenticated-triplet lifetime`: when a pending triplet is forgotten. */
  readonly unauthExpiresAt: number;
  /** `now + authenticated-triplet lifetime`: when a passed triplet is forgotten. */
  readonly authExpiresAt: number;
}

/**
 * What an attempt did:
 * - `new`: first attempt, row created → defer;
 * - `restarted`: the row had expired (`now > recordExpiresAt`) and starts over → defer;
 * - `too-early`: retry before `blockExpiresAt` → defer (blocked count + 1; block time not extended);
 * - `passed`: retry after the block time → the triplet passes; the client's pending triplets are deleted;
 * - `still-passed`: the triplet had passed before; its expiry is extended.
 */
export type GreylistAttemptOutcome = 'new' | 'restarted' | 'too-early' | 'passed' | 'still-passed';

/** A tracking row. Times in milliseconds since the epoch (whole seconds). */
export interface GreylistTripletState extends GreylistTriplet {
  /** `init_time`: when the current attempt cycle started. */
  readonly firstSeenAt: number;
  /** `block_expired`. */
  readonly blockExpiresAt: number;
  /** `record_expired`. */
  readonly recordExpiresAt: number;
  /** `blocked_count`: deferred attempts in this cycle (informational). */
  readonly blockedCount: number;
  /** `passed = 1`. */
  readonly passed: boolean;
}

/** Result of {@link GreylistStore.recordAttempt}. */
export interface GreylistAttemptResult {
  /** What happened. */
  readonly outcome: GreylistAttemptOutcome;
  /** The row after the change. */
  readonly triplet: GreylistTripletState;
}

/** One first attempt for {@link GreylistStore.recordFirstAttempts}. */
export interface GreylistFirstAttempt {
  /** The triplet. */
  readonly triplet: GreylistTriplet;
  /** The times of the attempt, as {@link GreylistStore.recordAttempt} takes them. */
  readonly times: GreylistAttemptTimes;
}

/** Result of {@link GreylistStore.recordFirstAttempts}. */
export interface GreylistFirstAttemptsResult {
  /** Rows inserted. */
  readonly inserted: number;
  /**
   * Triplets left out because a value is longer than its `greylisting_tracking` column
   * ({@link GREYLIST_TRACKING_WIDTHS}); every store leaves them out, so all of them behave alike.
   */
  readonly unstorable: readonly GreylistTriplet[];
}

/** Account and sender of a setting or whitelist row. */
export interface GreylistPair {
  /** Local recipient scope: `user@domain`, `@domain`, `@.domain`, `@.tld` or `@.`. */
  readonly account: string;
  /** Sender scope: address, `@domain`, `@.domain`, `@.tld`, `@.`, IP, wildcard IPv4 or network. */
  readonly sender: string;
}

/** Input of {@link GreylistStore.setSetting}. */
export interface GreylistSettingInput extends GreylistPair {
  /** True: greylist; false: don't. */
  readonly active: boolean;
  /** Free text; default `''`. */
  readonly comment?: string;
}

/** Input of {@link GreylistStore.addWhitelist}. */
export interface GreylistWhitelistInput extends GreylistPair {
  /** Free text; default `''`. `AUTO-WHITELISTED` marks rows written by the outbound-recipient plugin. */
  readonly comment?: string;
}

/** A stored whitelist row. */
export interface GreylistWhitelistEntry {
  /** Recipient scope. */
  readonly account: string;
  /** Sender scope as stored. */
  readonly sender: string;
  /** Free text; `AUTO-UPDATE: <domain>` on generated rows. */
  readonly comment: string;
  /** Which table it lives in. */
  readonly source: GreylistWhitelistSource;
}

/** Result of {@link GreylistStore.replaceDomainNetworks}. */
export interface GreylistNetworkReplacement {
  /** Generated rows of the domain deleted. */
  readonly deleted: number;
  /** Rows inserted (values already generated for another domain are not inserted twice). */
  readonly inserted: number;
  /** Tracking rows deleted because their client key equals one of the new values. */
  readonly trackingDeleted: number;
}

/** Result of {@link GreylistStore.removeWhitelistDomain}. */
export interface GreylistDomainRemoval {
  /** Whether the domain was listed. */
  readonly removed: boolean;
  /** Generated whitelist rows of the domain deleted. */
  readonly networksRemoved: number;
}

/**
 * Greylisting storage for the greylisting plugin, its admin API and the whitelist-domain refresh.
 *
 * Decision path (SQL round trips): {@link GreylistStore.loadContext} (1: one `UNION ALL`, or concurrent
 * queries on the pool) then at most one write, {@link GreylistStore.refreshPassed} for a client that has
 * passed (2 in total) or {@link GreylistStore.recordAttempt} otherwise (one transaction). A caller that asked
 * for the triplet's row and found none may answer first and record the attempt later, batched with others,
 * through {@link GreylistStore.recordFirstAttempts}.
 *
 * Times are milliseconds since the epoch in the API and whole seconds in storage (rounded down with
 * `toUnixSeconds`), so every value a store returns is a multiple of 1000.
 *
 * Admin values are trimmed and lower-cased (iRedAPD's tools did not, bug B35), IPs and networks canonicalised,
 * and rejected with `POLICYD_ERR_INVALID_ACCOUNT` naming the value when they are not a valid form.
 * Infrastructure failures reject with `POLICYD_ERR_STORE`.
 */
export interface GreylistStore {
  /** Whitelist matches, settings and the client's pass count for one request. */
  loadContext(query: GreylistContextQuery): Promise<GreylistContext>;

  /**
   * Set `recordExpiresAt` on every passed row of the client key (iRedAPD refreshes them on each request from
   * a client that has passed).
   *
   * @returns how many rows were updated
   */
  refreshPassed(clientKey: string, recordExpiresAt: number): Promise<number>;

  /**
   * Record one attempt of a triplet, atomically (concurrent attempts for a new triplet create exactly one row
   * and exactly one of them gets `new`). iRedAPD's state machine, checked in this order:
   * 1. no row → insert (`firstSeenAt = now`, `blockedCount = 1`, not passed) → `new`;
   * 2. `now > recordExpiresAt` → restart the row like a new one (also clears `passed`) → `restarted`;
   * 3. `now < blockExpiresAt` → `blockedCount + 1` → `too-early`;
   * 4. otherwise → `passed = true`, `recordExpiresAt = max(stored, authExpiresAt)`, and every row of the same
   *    client key that has not passed is deleted → `passed`, or `still-passed` when it had passed before.
   *
   * The domains of an existing row are not updated.
   */
  recordAttempt(triplet: GreylistTriplet, times: GreylistAttemptTimes): Promise<GreylistAttemptResult>;

  /**
   * Record first attempts in bulk, for callers that answered them already (write-behind): each triplet that
   * has no tracking row gets the row {@link GreylistStore.recordAttempt} creates for a `new` outcome; a
   * triplet that has one (an earlier or concurrent attempt, or the same triplet twice in `attempts`) is left
   * as it is. SQL stores insert them with multi-row `INSERT`s that skip existing keys, all in one transaction
   * when more than one statement is needed.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed triplet or times (before any query),
   *   `POLICYD_ERR_STORE` when the database fails (nothing is inserted)
   */
  recordFirstAttempts(attempts: readonly GreylistFirstAttempt[]): Promise<GreylistFirstAttemptsResult>;

  /** Tracking rows of a client key, ordered by sender, then recipient. For admins and tests. */
  findTriplets(clientKey: string): Promise<readonly GreylistTripletState[]>;

  /**
   * Delete tracking rows with `recordExpiresAt < now` in batches of `batchSize`.
   */
  cleanup(options: CleanupOptions): Promise<CleanupResult>;

  /** Settings, optionally of one account, in the order of {@link GreylistContext.settings}. */
  listSettings(filter?: { readonly account?: string }): Promise<readonly GreylistSetting[]>;

  /**
   * Enable or disable greylisting for a pair (insert or replace). Priorities come from `accountPriority` of
   * the account and of the sender (networks get 70, fixing iRedAPD's bug B11/B18).
   *
   * @returns the stored row
   */
  setSetting(input: GreylistSettingInput): Promise<GreylistSetting>;

  /** Delete a setting. @returns whether a row was deleted */
  deleteSetting(pair: GreylistPair): Promise<boolean>;

  /** Add a manual whitelist row; an existing row is kept as is. @returns whether a row was inserted */
  addWhitelist(input: GreylistWhitelistInput): Promise<boolean>;

  /** Delete a manual whitelist row. @returns whether a row was deleted */
  removeWhitelist(pair: GreylistPair): Promise<boolean>;

  /**
   * Whitelist rows, optionally of one account and/or one source: manual rows first, then generated ones;
   * each by account, then sender.
   */
  listWhitelists(filter?: {
    readonly account?: string;
    readonly source?: GreylistWhitelistSource;
  }): Promise<readonly GreylistWhitelistEntry[]>;

  /** Add a sender domain whose SPF/MX hosts are whitelisted by the refresh. @returns whether it was new */
  addWhitelistDomain(domain: string): Promise<boolean>;

  /**
   * Remove a whitelist domain and, in the same transaction, the rows generated for it (comment
   * `AUTO-UPDATE: <domain>`, in either table). iRedAPD left the generated rows behind (bug B23).
   */
  removeWhitelistDomain(domain: string): Promise<GreylistDomainRemoval>;

  /** The whitelist domains, sorted (UTF-16 code units). */
  listWhitelistDomains(): Promise<readonly string[]>;

  /**
   * Replace the networks generated for a domain, atomically: delete its generated rows (comment
   * `AUTO-UPDATE: <domain>`, in either table), insert one generated row (account `@.`) per value that is not
   * already a generated `@.` row of another domain, and delete tracking rows whose client key equals one of
   * the values. Manual rows are never touched. An empty list just removes the domain's rows.
   *
   * @param networks - IP addresses and networks (IPv4/IPv6); duplicates are ignored
   */
  replaceDomainNetworks(domain: string, networks: readonly string[]): Promise<GreylistNetworkReplacement>;
}
