import { describe, expect, it } from 'vitest';
import { isPolicydError } from '../errors.ts';
import { DEFAULT_CLEANUP_BATCH_SIZE, resolveCleanupOptions } from './cleanup.ts';
import { cleanupRows } from './memory-cleanup.ts';
import { createMemoryStores } from './memory-stores.ts';
import { fromUnixSeconds, toUnixSeconds } from './store-time.ts';
import { storedNetwork, storedNetworkContains } from './stored-network.ts';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isPolicydError(err) ? err.code : String(err);
  }
  return undefined;
};

describe('store time', () => {
  it('rounds milliseconds down to whole seconds and back', () => {
    expect(toUnixSeconds(1_999)).toBe(1);
    expect(toUnixSeconds(0)).toBe(0);
    expect(fromUnixSeconds(toUnixSeconds(Date.UTC(2026, 0, 1, 0, 0, 0, 999)))).toBe(Date.UTC(2026, 0, 1));
  });

  it('rejects values that are not times', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1, '5' as unknown as number]) {
      expect(code(() => toUnixSeconds(bad, 'now'))).toBe('POLICYD_ERR_INVALID_OPTION');
    }
  });
});

describe('stored networks', () => {
  it('parses strict networks in any spelling and nothing else', () => {
    expect(storedNetwork('2001:DB8::/32')?.cidr).toBe('2001:db8::/32');
    expect(storedNetwork('192.0.2.1/24')).toBeUndefined();
    expect(storedNetwork('192.0.2.1')).toBeUndefined();
    expect(storedNetwork('192.0.2.*')).toBeUndefined();
    expect(storedNetwork('@example.com')).toBeUndefined();
  });

  it('matches clients inside, including IPv4-mapped IPv6 clients, and never throws', () => {
    expect(storedNetworkContains('192.0.2.0/24', '192.0.2.200')).toBe(true);
    expect(storedNetworkContains('192.0.2.0/24', '::ffff:192.0.2.200')).toBe(true);
    expect(storedNetworkContains('192.0.2.0/24', '192.0.3.1')).toBe(false);
    expect(storedNetworkContains('192.0.2.0/24', '')).toBe(false);
    expect(storedNetworkContains('192.0.2.0/24', 'not an ip')).toBe(false);
    expect(storedNetworkContains('::/0', '192.0.2.1')).toBe(false);
  });
});

describe('cleanup options and batches', () => {
  it('defaults to batches of 1000 without a batch limit', () => {
    expect(resolveCleanupOptions({ now: 0 })).toEqual({
      now: 0,
      batchSize: DEFAULT_CLEANUP_BATCH_SIZE,
      maxBatches: Number.POSITIVE_INFINITY,
    });
    const rows = new Map(Array.from({ length: 2_500 }, (_, i) => [i, i]));
    expect(cleanupRows(rows, () => true, { now: 0 })).toEqual({ deleted: 2_500, batches: 3, more: false });
    expect(rows.size).toBe(0);
  });

  it('only deletes what the predicate selects', () => {
    const rows = new Map(Array.from({ length: 10 }, (_, i) => [i, i]));
    expect(cleanupRows(rows, (row) => row % 2 === 0, { now: 0, batchSize: 2 })).toEqual({
      deleted: 5,
      batches: 3,
      more: false,
    });
    expect([...rows.keys()]).toEqual([1, 3, 5, 7, 9]);
  });
});

describe('createMemoryStores', () => {
  it('seeds the domain store and keeps each call’s state apart', async () => {
    const a = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
    const b = createMemoryStores();
    await a.wblist.add({ account: '@.', direction: 'inbound', list: 'blacklist', addresses: ['192.0.2.1'] });
    expect((await a.domains.lookupDomains(['example.com'])).get('example.com')?.local).toBe(true);
    expect((await b.domains.lookupDomains(['example.com'])).get('example.com')?.local).toBe(false);
    expect(await b.wblist.list({ account: '@.', direction: 'inbound' })).toEqual([]);
    expect(await a.wblist.list({ account: '@.', direction: 'inbound' })).toHaveLength(1);
  });
});
