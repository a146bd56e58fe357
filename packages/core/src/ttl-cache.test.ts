import { describe, expect, it } from 'vitest';
import { createTtlCache } from './ttl-cache.ts';

describe('createTtlCache', () => {
  it('returns a value until it expires', () => {
    const cache = createTtlCache<string>(10);
    cache.set('a', 'x', 1_000);
    expect(cache.get('a', 999)).toBe('x');
    expect(cache.get('a', 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = createTtlCache<number>(2);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.get('a', 0)).toBe(1);
    cache.set('c', 3, 100);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('holds nothing with capacity 0', () => {
    const cache = createTtlCache<number>(0);
    cache.set('a', 1, 100);
    expect(cache.get('a', 0)).toBeUndefined();
  });

  it('holds nothing with a negative or NaN capacity', () => {
    for (const capacity of [-1, Number.NaN]) {
      const cache = createTtlCache<number>(capacity);
      cache.set('a', 1, 100);
      expect(cache.size).toBe(0);
    }
  });

  it('replaces an entry, refreshing its expiry and recency', () => {
    const cache = createTtlCache<string>(2);
    cache.set('a', 'old', 100);
    cache.set('b', 'b', 100);
    cache.set('a', 'new', 500);
    cache.set('c', 'c', 500);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 400)).toBe('new');
    expect(cache.size).toBe(2);
  });

  it('keeps the most recent entries when capacity is 1', () => {
    const cache = createTtlCache<number>(1);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('keeps an expired entry counted until it is looked up', () => {
    const cache = createTtlCache<number>(5);
    cache.set('a', 1, 10);
    cache.set('b', 2, 1_000);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 10)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.get('b', 10)).toBe(2);
  });

  it('deletes one entry or all of them', () => {
    const cache = createTtlCache<number>(5);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    expect(cache.delete('a')).toBe(true);
    expect(cache.delete('a')).toBe(false);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('b', 0)).toBeUndefined();
  });
});
