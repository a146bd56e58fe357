/**
 * An optional in-memory copy of `greylisting_whitelist_domain_spf`, the networks the whitelist-domain refresh
 * generates from SPF/MX records (thousands of rows under `@.`, rewritten by a daily cron job). Looked up in SQL,
 * every greylisting context costs the database one index look-up per recipient form and candidate (5 × 54 for
 * an IPv4 client; ≈ 365 µs of MariaDB CPU with 3 000 rows); from this copy it costs a few `Map` look-ups. The
 * copy is reloaded in the background once it is older than its TTL (the request that finds it old is answered
 * from it), and dropped at once when this store itself rewrites the table; so rows written by another process
 * (iRedAPD's cron, another daemon) are seen within the TTL. Off by default (`spfWhitelistCacheTtlMs`).
 *
 * Matching is the memory store's, which the SQL path follows for canonically spelled rows: a row matches when
 * its lower-cased sender is one of the sender candidates, or when it is a strict network (any spelling)
 * containing the client.
 */

import type { GreylistWhitelistMatch } from '@policyd/core';
import { containingNetworks, storedNetwork } from '@policyd/core';

/** A row of the table: account and sender as stored. */
export interface GeneratedWhitelistRow {
  /** Recipient scope, as stored (normally `@.`). */
  readonly account: string;
  /** IP, network or other sender form, as stored. */
  readonly sender: string;
}

/** The rows of one account, indexed for matching. */
interface AccountIndex {
  /** Lower-cased sender → stored senders. */
  readonly bySender: Map<string, string[]>;
  /** Canonical network (`storedNetwork(sender).cidr`) → stored senders. */
  readonly byNetwork: Map<string, string[]>;
}

/** One loaded copy of the table. */
export interface GeneratedWhitelistSnapshot {
  /**
   * The rows of `recipients` whose lower-cased sender is one of `senders` (lower-case), or that are a network
   * containing `clientAddress`; by network only when not by value.
   */
  match(
    recipients: readonly string[],
    senders: ReadonlySet<string>,
    clientAddress: string,
  ): GreylistWhitelistMatch[];
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Index rows for {@link GeneratedWhitelistSnapshot.match}. */
export function generatedWhitelistSnapshot(
  rows: readonly GeneratedWhitelistRow[],
): GeneratedWhitelistSnapshot {
  const accounts = new Map<string, AccountIndex>();
  for (const { account, sender } of rows) {
    let index = accounts.get(account);
    if (index === undefined) {
      index = { bySender: new Map(), byNetwork: new Map() };
      accounts.set(account, index);
    }
    push(index.bySender, sender.toLowerCase(), sender);
    const network = storedNetwork(sender);
    if (network !== undefined) push(index.byNetwork, network.cidr, sender);
  }
  return {
    match(recipients, senders, clientAddress) {
      const found: GreylistWhitelistMatch[] = [];
      let networks: string[] | undefined; // the client's 33 (IPv4) or 129 (IPv6) networks, when a row needs them
      for (const account of new Set(recipients)) {
        const index = accounts.get(account);
        if (index === undefined) continue;
        const byValue = new Set<string>();
        for (const candidate of senders) {
          for (const sender of index.bySender.get(candidate) ?? []) {
            byValue.add(sender);
            found.push({ account, sender, source: 'spf', byNetwork: false });
          }
        }
        if (index.byNetwork.size === 0) continue;
        networks ??= containingNetworks(clientAddress);
        for (const network of networks) {
          for (const sender of index.byNetwork.get(network) ?? []) {
            if (!byValue.has(sender)) found.push({ account, sender, source: 'spf', byNetwork: true });
          }
        }
      }
      return found;
    },
  };
}

/** Options of {@link createGeneratedWhitelistCache}. */
export interface GeneratedWhitelistCacheOptions {
  /** Read every row of the table. */
  readonly load: () => Promise<readonly GeneratedWhitelistRow[]>;
  /** Age after which the copy is reloaded, in milliseconds (> 0). */
  readonly ttlMs: number;
  /** Clock in milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/** The cache. */
export interface GeneratedWhitelistCache {
  /** The current copy: loaded (and awaited) when there is none, reloaded in the background when old. */
  get(): Promise<GeneratedWhitelistSnapshot>;
  /** Forget the copy (after this store changed the table): the next `get` loads a fresh one. */
  invalidate(): void;
}

/**
 * Create the cache. A background reload that fails keeps the old copy (and is tried again by the next
 * request); a first load that fails rejects that request, as the SQL query would have.
 */
export function createGeneratedWhitelistCache(
  options: GeneratedWhitelistCacheOptions,
): GeneratedWhitelistCache {
  const { load, ttlMs, now = Date.now } = options;
  let current: { snapshot: GeneratedWhitelistSnapshot; loadedAt: number } | undefined;
  let loading: Promise<GeneratedWhitelistSnapshot> | undefined;
  let generation = 0; // bumped by invalidate, so that a load started before it is not kept

  function reload(): Promise<GeneratedWhitelistSnapshot> {
    if (loading !== undefined) return loading;
    const started = generation;
    const loadedAt = now();
    const pending = load()
      .then((rows) => {
        const snapshot = generatedWhitelistSnapshot(rows);
        if (started === generation) current = { snapshot, loadedAt };
        return snapshot;
      })
      .finally(() => {
        if (loading === pending) loading = undefined;
      });
    loading = pending;
    return pending;
  }

  return {
    async get() {
      const copy = current;
      if (copy === undefined) return reload();
      if (now() - copy.loadedAt >= ttlMs) {
        reload().catch(() => {
          // Kept the old copy; the next request tries again.
        });
      }
      return copy.snapshot;
    },
    invalidate() {
      generation++;
      current = undefined;
      loading = undefined;
    },
  };
}
