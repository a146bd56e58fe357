/**
 * In-memory {@link DomainStore}, seeded with vmail rows. For tests and for daemons without a vmail database.
 */

import type { DomainInfo, DomainStore } from './domain-store.ts';
import type { DomainSeed } from './seed.ts';

/** A {@link DomainStore} held in memory. */
export interface MemoryDomainStore extends DomainStore {
  /** Insert or replace `domain` and `alias_domain` rows, verbatim. */
  seed(data: DomainSeed): void;
}

interface DomainRow {
  readonly active: boolean;
  readonly backupMx: boolean;
}

/**
 * Create an in-memory domain store.
 *
 * @example
 * ```ts
 * const domains = createMemoryDomainStore({ domains: [{ domain: 'example.com' }] });
 * (await domains.lookupDomains(['example.com'])).get('example.com'); // { local: true, backupMx: false }
 * ```
 */
export function createMemoryDomainStore(initial: DomainSeed = {}): MemoryDomainStore {
  const domains = new Map<string, DomainRow>();
  const aliases = new Map<string, string>();

  function info(domain: string): DomainInfo {
    const row = domains.get(domain);
    const local = row?.active === true;
    const target = aliases.get(domain);
    const base = { local, backupMx: local && row?.backupMx === true };
    return target !== undefined && domains.get(target)?.active === true
      ? { ...base, aliasTarget: target }
      : base;
  }

  const store: MemoryDomainStore = {
    async lookupDomains(list) {
      const result = new Map<string, DomainInfo>();
      for (const value of list) {
        const domain = String(value).toLowerCase();
        if (!result.has(domain)) result.set(domain, info(domain));
      }
      return result;
    },
    seed(data) {
      for (const row of data.domains ?? []) {
        domains.set(row.domain, { active: row.active ?? true, backupMx: row.backupMx ?? false });
      }
      for (const row of data.aliasDomains ?? []) aliases.set(row.aliasDomain, row.targetDomain);
    },
  };
  store.seed(initial);
  return store;
}
