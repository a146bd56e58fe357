import { describe, expect, it } from 'vitest';
import { isPolicydError } from './errors.ts';
import { createSessionCache, DEFAULT_SESSION_CACHE, type SessionCacheOptions } from './session-cache.ts';

function setup(options: SessionCacheOptions = {}) {
  let time = 1_000_000;
  const cache = createSessionCache(options, () => time);
  return {
    cache,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe('createSessionCache', () => {
  it('returns the same Map for the same instance', () => {
    const { cache } = setup();
    cache.get('A1.B2.1').set('throttle:seen', 1);
    expect(cache.get('A1.B2.1').get('throttle:seen')).toBe(1);
    expect(cache.size).toBe(1);
  });

  it('keeps instances apart', () => {
    const { cache } = setup();
    cache.get('one').set('k', 'first');
    expect(cache.get('two').has('k')).toBe(false);
    expect(cache.get('one').get('k')).toBe('first');
    expect(cache.size).toBe(2);
  });

  it('gives requests without an instance a fresh Map every time and keeps none', () => {
    const { cache } = setup();
    const first = cache.get('');
    first.set('k', 1);
    const second = cache.get('');
    expect(second).not.toBe(first);
    expect(second.size).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('drops an instance unused for ttlMs', () => {
    const { cache, advance } = setup({ ttlMs: 1_000 });
    cache.get('msg').set('k', 1);
    advance(999);
    expect(cache.get('msg').get('k')).toBe(1);
    advance(1_000);
    expect(cache.get('msg').has('k')).toBe(false);
  });

  it('counts the age from the last use', () => {
    const { cache, advance } = setup({ ttlMs: 1_000 });
    cache.get('msg').set('k', 1);
    for (let i = 0; i < 5; i++) {
      advance(600);
      expect(cache.get('msg').get('k')).toBe(1);
    }
  });

  it('removes expired instances when another one is used', () => {
    const { cache, advance } = setup({ ttlMs: 1_000 });
    cache.get('a');
    cache.get('b');
    advance(500);
    cache.get('c');
    expect(cache.size).toBe(3);
    advance(600);
    cache.get('c');
    expect(cache.size).toBe(1);
  });

  it('evicts the least recently used instance beyond maxEntries', () => {
    const { cache } = setup({ maxEntries: 2 });
    cache.get('a').set('k', 'a');
    cache.get('b').set('k', 'b');
    cache.get('a');
    cache.get('c').set('k', 'c');
    expect(cache.size).toBe(2);
    expect(cache.get('a').get('k')).toBe('a');
    expect(cache.get('c').get('k')).toBe('c');
    expect(cache.get('b').has('k')).toBe(false);
  });

  it('never holds more than maxEntries', () => {
    const { cache } = setup({ maxEntries: 3 });
    for (let i = 0; i < 50; i++) cache.get(`i${i}`);
    expect(cache.size).toBe(3);
    expect(cache.get('i49').size).toBe(0);
    expect(cache.size).toBe(3);
  });

  it('does not return an expired instance hidden behind a fresh one after the clock went back', () => {
    const { cache, advance } = setup({ ttlMs: 1_000 });
    cache.get('ahead').set('k', 1);
    advance(-500);
    cache.get('behind').set('k', 2);
    advance(1_200);
    // 'ahead' is 700 ms old, 'behind' is 1 200 ms old but sits after it.
    expect(cache.get('behind').has('k')).toBe(false);
    expect(cache.get('ahead').get('k')).toBe(1);
  });

  it('uses the documented defaults and Date.now', () => {
    expect(DEFAULT_SESSION_CACHE).toEqual({ maxEntries: 10_000, ttlMs: 3_600_000 });
    const cache = createSessionCache();
    cache.get('x').set('k', 1);
    expect(cache.get('x').get('k')).toBe(1);
  });

  it.each<[string, SessionCacheOptions]>([
    ['maxEntries', { maxEntries: 0 }],
    ['maxEntries', { maxEntries: 1.5 }],
    ['maxEntries', { maxEntries: Number.NaN }],
    ['maxEntries', { maxEntries: Number.POSITIVE_INFINITY }],
    ['ttlMs', { ttlMs: 0 }],
    ['ttlMs', { ttlMs: -1 }],
    ['ttlMs', { ttlMs: Number.POSITIVE_INFINITY }],
    ['ttlMs', { ttlMs: '60' as unknown as number }],
  ])('refuses an invalid %s', (field, options) => {
    let error: unknown;
    try {
      createSessionCache(options);
    } catch (err) {
      error = err;
    }
    expect(isPolicydError(error, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toContain(`sessionCache.${field}`);
  });
});
