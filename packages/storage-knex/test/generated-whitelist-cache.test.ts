import { describe, expect, it } from 'vitest';
import {
  createGeneratedWhitelistCache,
  type GeneratedWhitelistRow,
  generatedWhitelistSnapshot,
} from '../src/generated-whitelist-cache.ts';
import { describeEachBackend } from './backends.ts';
import { seedGreylist } from './greylist-seed.ts';

const senders = (...values: string[]) => new Set(values);

describe('generatedWhitelistSnapshot', () => {
  const snapshot = generatedWhitelistSnapshot([
    { account: '@.', sender: '192.0.2.0/24' },
    { account: '@.', sender: '2001:DB8::/32' },
    { account: '@.', sender: '198.51.100.7' },
    { account: '@.', sender: '@Example.NET' },
    { account: '@.', sender: '203.0.113.0/24' },
    { account: '@.', sender: '203.0.113.0/24 ' },
    { account: '@.', sender: '10.0.0.1/8' },
    { account: 'user@example.com', sender: '198.51.100.0/24' },
  ]);

  it('matches networks containing the client, in any spelling, for the recipients only', () => {
    expect(snapshot.match(['@.'], senders(), '192.0.2.77')).toEqual([
      { account: '@.', sender: '192.0.2.0/24', source: 'spf', byNetwork: true },
    ]);
    expect(snapshot.match(['@.'], senders(), '2001:db8:1::5')).toEqual([
      { account: '@.', sender: '2001:DB8::/32', source: 'spf', byNetwork: true },
    ]);
    expect(snapshot.match(['@.'], senders(), '198.51.100.9')).toEqual([]);
    expect(snapshot.match(['user@example.com', '@.'], senders(), '198.51.100.9')).toEqual([
      { account: 'user@example.com', sender: '198.51.100.0/24', source: 'spf', byNetwork: true },
    ]);
  });

  it('matches senders lower-cased and by value before by network', () => {
    expect(snapshot.match(['@.'], senders('@example.net'), '')).toEqual([
      { account: '@.', sender: '@Example.NET', source: 'spf', byNetwork: false },
    ]);
    expect(snapshot.match(['@.'], senders('198.51.100.7'), '198.51.100.7')).toEqual([
      { account: '@.', sender: '198.51.100.7', source: 'spf', byNetwork: false },
    ]);
  });

  it('takes strict networks in any spelling as networks, not host bits nor a plain address', () => {
    expect(snapshot.match(['@.'], senders(), '10.1.2.3')).toEqual([]);
    expect(snapshot.match(['@.'], senders(), '203.0.113.5')).toEqual([
      { account: '@.', sender: '203.0.113.0/24', source: 'spf', byNetwork: true },
      { account: '@.', sender: '203.0.113.0/24 ', source: 'spf', byNetwork: true },
    ]);
    expect(snapshot.match(['@.'], senders(), '198.51.100.7')).toEqual([]);
  });

  it('answers a client that is not an IP with value matches only', () => {
    expect(snapshot.match(['@.'], senders('@example.net'), 'not-an-ip')).toHaveLength(1);
  });
});

describe('createGeneratedWhitelistCache', () => {
  function source() {
    let rows: GeneratedWhitelistRow[] = [{ account: '@.', sender: '192.0.2.0/24' }];
    const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
    let loads = 0;
    let gated = false;
    return {
      set(next: GeneratedWhitelistRow[]) {
        rows = next;
      },
      gate() {
        gated = true;
      },
      release(err?: Error) {
        const call = pending.shift();
        if (err === undefined) call?.resolve();
        else call?.reject(err);
      },
      get loads() {
        return loads;
      },
      load: async () => {
        loads++;
        const snapshot = [...rows];
        if (gated) await new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
        return snapshot;
      },
    };
  }
  const hits = async (cache: ReturnType<typeof createGeneratedWhitelistCache>, ip: string) =>
    (await cache.get()).match(['@.'], new Set(), ip).length;
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it('loads once, then answers from memory until the TTL, then reloads in the background', async () => {
    let time = 0;
    const s = source();
    const cache = createGeneratedWhitelistCache({ load: s.load, ttlMs: 1000, now: () => time });
    expect(await hits(cache, '192.0.2.1')).toBe(1);
    s.set([{ account: '@.', sender: '198.51.100.0/24' }]);
    time = 999;
    expect(await hits(cache, '198.51.100.1')).toBe(0);
    expect(s.loads).toBe(1);
    time = 1000;
    expect(await hits(cache, '198.51.100.1')).toBe(0); // answered from the old copy, reload started
    await tick();
    expect(await hits(cache, '198.51.100.1')).toBe(1);
    expect(s.loads).toBe(2);
  });

  it('loads once for concurrent first requests, and rejects them when that load fails', async () => {
    const s = source();
    s.gate();
    const cache = createGeneratedWhitelistCache({ load: s.load, ttlMs: 1000, now: () => 0 });
    const both = Promise.allSettled([cache.get(), cache.get()]);
    await tick();
    s.release(new Error('connection refused'));
    expect((await both).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(s.loads).toBe(1);
    const next = cache.get();
    await tick();
    s.release();
    expect((await next).match(['@.'], new Set(), '192.0.2.1')).toHaveLength(1);
  });

  it('keeps the old copy when a background reload fails', async () => {
    let time = 0;
    const s = source();
    const cache = createGeneratedWhitelistCache({ load: s.load, ttlMs: 10, now: () => time });
    await cache.get();
    s.gate();
    time = 10;
    await cache.get();
    await tick();
    s.release(new Error('timeout'));
    await tick();
    expect(await hits(cache, '192.0.2.1')).toBe(1);
  });

  it('drops the copy on invalidate, and ignores a load that started before', async () => {
    let time = 0;
    const s = source();
    const cache = createGeneratedWhitelistCache({ load: s.load, ttlMs: 10, now: () => time });
    await cache.get();
    s.gate();
    time = 10;
    await cache.get(); // background reload of the old rows, held
    await tick();
    s.set([{ account: '@.', sender: '198.51.100.0/24' }]);
    cache.invalidate();
    const fresh = cache.get();
    await tick();
    s.release(); // the stale reload finishes first
    s.release();
    expect((await fresh).match(['@.'], new Set(), '198.51.100.1')).toHaveLength(1);
    expect(await hits(cache, '198.51.100.1')).toBe(1);
    expect(await hits(cache, '192.0.2.1')).toBe(0);
  });
});

describeEachBackend('greylisting store, generated whitelist in memory', (backend) => {
  it('reads the table once, not per context, sees its own changes at once and others after the TTL', async () => {
    const storage = await backend.createStorage({ spfWhitelistCacheTtlMs: 200 });
    try {
      const store = storage.greylist;
      const statements: string[] = [];
      storage.databases.iredapd.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
      const query = (client: string) => ({
        recipients: ['user@example.com', '@example.com', '@.'],
        senders: ['a@example.net', client],
        clientAddress: client,
        clientKey: client,
        now: Date.now(),
      });
      await store.replaceDomainNetworks('example.org', ['192.0.2.0/24']);
      const first = await store.loadContext(query('192.0.2.9'));
      expect(first.whitelist).toEqual([
        { account: '@.', sender: '192.0.2.0/24', source: 'spf', byNetwork: true },
      ]);
      statements.length = 0;
      await store.loadContext(query('192.0.2.10'));
      await store.loadContext(query('198.51.100.1'));
      expect(statements).toHaveLength(2);
      expect(statements.join('\n')).not.toMatch(/greylisting_whitelist_domain_spf/);

      // Written by another process: seen once the copy is older than the TTL (the next request reloads it).
      await seedGreylist(storage.databases.iredapd, {
        whitelists: [{ account: '@.', sender: '198.51.100.0/24', source: 'spf' }],
      });
      expect((await store.loadContext(query('198.51.100.1'))).whitelist).toEqual([]);
      await new Promise((r) => setTimeout(r, 250));
      let seen = 0;
      for (let tries = 0; tries < 100 && seen === 0; tries++) {
        seen = (await store.loadContext(query('198.51.100.1'))).whitelist.length;
        if (seen === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toBe(1);

      // Its own refresh: at once.
      await store.replaceDomainNetworks('example.org', []);
      expect((await store.loadContext(query('192.0.2.9'))).whitelist).toEqual([]);
    } finally {
      await storage.destroy();
    }
  });

  it('rejects a negative TTL', async () => {
    await expect(backend.createStorage({ spfWhitelistCacheTtlMs: -1 })).rejects.toMatchObject({
      code: 'POLICYD_ERR_INVALID_OPTION',
    });
  });
});
