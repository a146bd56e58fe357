/**
 * Conformance suite for {@link DomainStore} implementations.
 */

import { describe, expect, it } from 'vitest';
import type { DomainStore } from '../domain-store.ts';
import type { DomainSeed } from '../seed.ts';
import { type HarnessFactory, type SeedableStoreHarness, useHarness } from './harness.ts';

/** A domain store under test, seedable with vmail rows. */
export type DomainStoreHarness = SeedableStoreHarness<DomainStore, DomainSeed>;

/**
 * Register the domain store conformance tests (vitest) for one implementation.
 *
 * @example
 * ```ts
 * describeDomainStoreConformance('memory', async () => {
 *   const store = createMemoryDomainStore();
 *   return { store, seed: async (data) => store.seed(data), close: async () => {} };
 * });
 * ```
 */
export function describeDomainStoreConformance(
  name: string,
  factory: HarnessFactory<DomainStoreHarness>,
): void {
  describe(`DomainStore conformance: ${name}`, () => {
    const h = useHarness(factory);

    it('reports an active domain as local and an unknown one as not local', async () => {
      await h().seed({ domains: [{ domain: 'example.com' }] });
      const result = await h().store.lookupDomains(['example.com', 'unknown.test']);
      expect(result.get('example.com')).toEqual({ local: true, backupMx: false });
      expect(result.get('unknown.test')).toEqual({ local: false, backupMx: false });
      expect(result.size).toBe(2);
    });

    it('does not count an inactive domain as local', async () => {
      await h().seed({ domains: [{ domain: 'off.test', active: false }] });
      expect((await h().store.lookupDomains(['off.test'])).get('off.test')).toEqual({
        local: false,
        backupMx: false,
      });
    });

    it('reports backup-MX domains as local and backupMx', async () => {
      await h().seed({
        domains: [
          { domain: 'backup.test', backupMx: true },
          { domain: 'off-backup.test', backupMx: true, active: false },
        ],
      });
      const result = await h().store.lookupDomains(['backup.test', 'off-backup.test']);
      expect(result.get('backup.test')).toEqual({ local: true, backupMx: true });
      expect(result.get('off-backup.test')).toEqual({ local: false, backupMx: false });
    });

    it('resolves an alias domain to its active target, whatever the alias row says', async () => {
      await h().seed({
        domains: [{ domain: 'example.com' }],
        aliasDomains: [
          { aliasDomain: 'alias.test', targetDomain: 'example.com' },
          { aliasDomain: 'off-alias.test', targetDomain: 'example.com', active: false },
        ],
      });
      const result = await h().store.lookupDomains(['alias.test', 'off-alias.test']);
      expect(result.get('alias.test')).toEqual({ local: false, backupMx: false, aliasTarget: 'example.com' });
      expect(result.get('off-alias.test')).toEqual({
        local: false,
        backupMx: false,
        aliasTarget: 'example.com',
      });
    });

    it('ignores alias domains whose target is inactive or missing', async () => {
      await h().seed({
        domains: [{ domain: 'off.test', active: false }],
        aliasDomains: [
          { aliasDomain: 'to-off.test', targetDomain: 'off.test' },
          { aliasDomain: 'to-nowhere.test', targetDomain: 'nowhere.test' },
        ],
      });
      const result = await h().store.lookupDomains(['to-off.test', 'to-nowhere.test']);
      expect(result.get('to-off.test')).toEqual({ local: false, backupMx: false });
      expect(result.get('to-nowhere.test')).toEqual({ local: false, backupMx: false });
    });

    it('reports a domain that is both local and an alias with both facts', async () => {
      await h().seed({
        domains: [{ domain: 'both.test' }, { domain: 'example.com' }],
        aliasDomains: [{ aliasDomain: 'both.test', targetDomain: 'example.com' }],
      });
      expect((await h().store.lookupDomains(['both.test'])).get('both.test')).toEqual({
        local: true,
        backupMx: false,
        aliasTarget: 'example.com',
      });
    });

    it('lower-cases the input and answers once per distinct domain', async () => {
      await h().seed({ domains: [{ domain: 'example.com' }] });
      const result = await h().store.lookupDomains(['Example.COM', 'example.com', 'OTHER.test']);
      expect([...result.keys()].sort()).toEqual(['example.com', 'other.test']);
      expect(result.get('example.com')?.local).toBe(true);
    });

    it('answers an empty list with an empty map', async () => {
      expect((await h().store.lookupDomains([])).size).toBe(0);
    });
  });
}
