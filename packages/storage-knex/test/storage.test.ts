import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainInfo, DomainStore } from '@policyd/core';
import { isPolicydError } from '@policyd/core';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { dialectOf } from '../src/dialect.ts';
import { cacheDomainStore } from '../src/domain-cache.ts';
import { openStorage } from '../src/open-storage.ts';
import { knexStorage } from '../src/storage.ts';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('cacheDomainStore', () => {
  function counting(): DomainStore & { calls: string[][] } {
    const calls: string[][] = [];
    return {
      calls,
      async lookupDomains(domains) {
        calls.push([...domains]);
        return new Map<string, DomainInfo>(
          domains.map((d) => [d, { local: d === 'example.com', backupMx: false }]),
        );
      },
    };
  }

  it('asks the store only for domains it has not seen within the TTL, and expires them', async () => {
    let now = 1000;
    const store = counting();
    const cached = cacheDomainStore(store, { ttlMs: 500, now: () => now });
    expect([...(await cached.lookupDomains(['Example.com', 'a.test'])).keys()]).toEqual([
      'example.com',
      'a.test',
    ]);
    expect([...(await cached.lookupDomains(['a.test', 'b.test', 'example.com'])).keys()]).toEqual([
      'a.test',
      'b.test',
      'example.com',
    ]);
    expect(store.calls).toEqual([['example.com', 'a.test'], ['b.test']]);
    now += 500;
    await cached.lookupDomains(['example.com']);
    expect(store.calls.at(-1)).toEqual(['example.com']);
  });

  it('remembers domains that are not hosted for the same TTL, keeping the input order', async () => {
    let now = 1000;
    const calls: string[][] = [];
    const hosted = new Set(['example.com']);
    const store: DomainStore = {
      async lookupDomains(domains) {
        calls.push([...domains]);
        return new Map<string, DomainInfo>(
          domains.filter((d) => hosted.has(d)).map((d) => [d, { local: true, backupMx: false }]),
        );
      },
    };
    const cached = cacheDomainStore(store, { ttlMs: 500, now: () => now });
    expect([...(await cached.lookupDomains(['sender.test', 'example.com'])).keys()]).toEqual(['example.com']);
    expect([...(await cached.lookupDomains(['example.com', 'Sender.TEST', 'other.test'])).keys()]).toEqual([
      'example.com',
    ]);
    expect(calls).toEqual([['sender.test', 'example.com'], ['other.test']]);
    // A domain added meanwhile is seen once the "not hosted" answer expires.
    hosted.add('sender.test');
    now += 499;
    expect((await cached.lookupDomains(['sender.test'])).size).toBe(0);
    expect(calls).toHaveLength(2);
    now += 1;
    expect([...(await cached.lookupDomains(['other.test', 'sender.test'])).keys()]).toEqual(['sender.test']);
    expect(calls.at(-1)).toEqual(['other.test', 'sender.test']);
  });

  it('keeps at most maxEntries domains and does not cache failures', async () => {
    const store = counting();
    const cached = cacheDomainStore(store, { ttlMs: 10_000, maxEntries: 2 });
    await cached.lookupDomains(['a.test', 'b.test', 'c.test']);
    await cached.lookupDomains(['a.test']);
    expect(store.calls.at(-1)).toEqual(['a.test']);
    const failing = cacheDomainStore(
      {
        lookupDomains: async () => {
          throw new Error('down');
        },
      },
      { ttlMs: 10_000 },
    );
    await expect(failing.lookupDomains(['a.test'])).rejects.toThrow('down');
    await expect(failing.lookupDomains(['a.test'])).rejects.toThrow('down');
  });
});

describe('options', () => {
  it('rejects unsupported knex clients and bad options with POLICYD_ERR_INVALID_OPTION', async () => {
    const oracle = knexFactory({ client: 'oracledb' });
    try {
      expect(() => dialectOf(oracle)).toThrow(/Unsupported knex client "oracledb"/);
      const err = (() => {
        try {
          knexStorage({ iredapd: oracle });
        } catch (e) {
          return e;
        }
      })();
      expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    } finally {
      await oracle.destroy();
    }
    const sqlite = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    try {
      expect(() => knexStorage({ iredapd: sqlite, domainCacheTtlMs: -1 })).toThrow(/domainCacheTtlMs/);
    } finally {
      await sqlite.destroy();
    }
    for (const config of [
      { client: 'sqlite', filename: '' },
      { client: 'sqlite', filename: 'x.sqlite', busyTimeoutMs: -5 },
      { client: 'sqlite', filename: 'x.sqlite', cacheSizeKib: -2000 },
      { client: 'sqlite', filename: 'x.sqlite', cacheSizeKib: 1.5 },
      { client: 'mysql', iredapd: { database: '' } },
      { client: 'pg', iredapd: { database: 'iredapd' }, connectTimeoutMs: 1.5 },
      { client: 'oracle', iredapd: { database: 'iredapd' } },
    ]) {
      const err = await rejection(openStorage(config as Parameters<typeof openStorage>[0]));
      expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION'), JSON.stringify(config)).toBe(true);
    }
  });

  it('opens an in-memory SQLite storage with its schema, and closes idempotently', async () => {
    const storage = await openStorage({ client: 'sqlite', filename: ':memory:' });
    expect(await storage.checkSchema()).toEqual({ ok: true, missing: [] });
    await storage.wblist.add({
      account: '@.',
      direction: 'inbound',
      list: 'blacklist',
      addresses: ['192.0.2.66'],
    });
    expect(await storage.wblist.findAccounts(['@.'])).toEqual([{ account: '@.', priority: 0 }]);
    await storage.close();
    await storage.close();
    const err = await rejection(storage.wblist.findAccounts(['@.']));
    expect(isPolicydError(err, 'POLICYD_ERR_STORE')).toBe(true);
  });

  it('opens SQLite on one connection, in WAL mode with a 2 MB page cache (or the one asked for)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policyd-open-'));
    const pragma = async (knex: ReturnType<typeof knexFactory>, name: string) =>
      Object.values(((await knex.raw(`PRAGMA ${name}`)) as Record<string, unknown>[])[0] ?? {})[0];
    try {
      const storage = await openStorage({ client: 'sqlite', filename: join(dir, 'a.sqlite') });
      try {
        const { knex } = storage.databases.iredapd;
        // One connection: every statement of better-sqlite3 runs on the main thread anyway, and each
        // connection would hold its own page cache.
        expect((knex.client as { pool: { max: number } }).pool.max).toBe(1);
        expect(await pragma(knex, 'journal_mode')).toBe('wal');
        expect(await pragma(knex, 'synchronous')).toBe(1); // NORMAL
        expect(await pragma(knex, 'foreign_keys')).toBe(1);
        expect(await pragma(knex, 'cache_size')).toBe(-2000); // KiB; better-sqlite3's own build has -16000
      } finally {
        await storage.close();
      }
      const larger = await openStorage({
        client: 'sqlite',
        filename: join(dir, 'a.sqlite'),
        cacheSizeKib: 8000,
      });
      try {
        expect(await pragma(larger.databases.iredapd.knex, 'cache_size')).toBe(-8000);
      } finally {
        await larger.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to roll its migrations back', async () => {
    const storage = await openStorage({ client: 'sqlite', filename: ':memory:' });
    try {
      const { knex } = storage.databases.iredapd;
      const { migrationSource } = await import('../src/migrations.ts');
      await expect(
        knex.migrate.rollback({
          migrationSource: migrationSource('vmail'),
          tableName: 'policyd_migrations',
          disableMigrationsListValidation: true,
        }),
      ).rejects.toThrow(/cannot be rolled back/);
      expect(await knex.schema.hasTable('domain')).toBe(true);
    } finally {
      await storage.close();
    }
  });
});
