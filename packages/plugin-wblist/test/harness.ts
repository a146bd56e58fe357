/**
 * What the shared wblist test suites need from a storage backend: the two stores, raw-row seeding, and a
 * close. Memory and SQL backends each provide a factory; the suites never know which one they run on.
 */

import {
  createMemoryStores,
  type DomainSeed,
  type DomainStore,
  type WblistSeed,
  type WblistStore,
} from '@policyd/core';

/** A fresh, empty pair of stores for one test. */
export interface WblistTestBackend {
  /** The white/blacklist store under test. */
  readonly wblist: WblistStore;
  /** The domain store under test. */
  readonly domains: DomainStore;
  /** Insert raw amavisd rows verbatim (other priorities, other `wb` values). */
  seedWblist(rows: WblistSeed): Promise<void>;
  /** Insert raw vmail `domain` / `alias_domain` rows. */
  seedDomains(rows: DomainSeed): Promise<void>;
  /** Release the backend (drop the database). */
  close(): Promise<void>;
}

/** Creates a fresh backend; called once per test. */
export type WblistBackendFactory = () => Promise<WblistTestBackend>;

/** The memory stores of `@policyd/core`. */
export const memoryBackend: WblistBackendFactory = async () => {
  const stores = createMemoryStores();
  return {
    wblist: stores.wblist,
    domains: stores.domains,
    seedWblist: async (rows) => stores.wblist.seed(rows),
    seedDomains: async (rows) => stores.domains.seed(rows),
    close: async () => {},
  };
};

/** Counts calls per store method, for the round-trip budget. */
export interface CallCounter {
  /** Calls so far, by `store.method`. */
  readonly calls: Map<string, number>;
  /** All calls so far. */
  total(): number;
  /** Forget the counts. */
  reset(): void;
}

/** Wrap a store so that every method call is counted under `<label>.<method>`. */
export function countCalls<T extends object>(store: T, label: string, counter: CallCounter): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const key = `${label}.${String(property)}`;
        counter.calls.set(key, (counter.calls.get(key) ?? 0) + 1);
        return Reflect.apply(value, target, args);
      };
    },
  });
}

/** A new, empty call counter. */
export function createCallCounter(): CallCounter {
  const calls = new Map<string, number>();
  return {
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
  };
}

/**
 * The vmail rows every decision case starts with: two local domains, a backup-MX domain, an inactive one, an
 * alias of a local domain and an alias of the inactive one.
 */
export const WORLD_DOMAINS: DomainSeed = Object.freeze({
  domains: [
    { domain: 'local.test' },
    { domain: 'other.test' },
    { domain: 'backup.test', backupMx: true },
    { domain: 'inactive.test', active: false },
  ],
  aliasDomains: [
    { aliasDomain: 'alias.test', targetDomain: 'local.test' },
    { aliasDomain: 'deadalias.test', targetDomain: 'inactive.test' },
  ],
});

/** The host name the suites give the plugin, so results do not depend on the test machine. */
export const TEST_HOSTNAME = 'mx.policyd.test';
