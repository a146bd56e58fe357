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
});
