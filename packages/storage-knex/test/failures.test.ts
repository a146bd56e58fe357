import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPolicydError } from '@policyd/core';
import { afterEach, describe, expect, it } from 'vitest';
import { openStorage } from '../src/open-storage.ts';
import type { KnexStorage } from '../src/storage.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';

/** Run `call`, expect POLICYD_ERR_STORE, and return how long it took. */
async function expectStoreError(call: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  expect(isPolicydError(error, 'POLICYD_ERR_STORE'), String(error)).toBe(true);
  expect((error as Error).cause).toBeDefined();
  return Date.now() - started;
}

describe('sqlite failures', () => {
  it('reports an unopenable file as POLICYD_ERR_STORE and recovers once the directory exists', async () => {
    const base = await mkdtemp(join(tmpdir(), 'policyd-fail-'));
    const storage = await openStorage({
      client: 'sqlite',
      filename: join(base, 'later', 'db.sqlite'),
      migrate: false,
    });
    try {
      await expectStoreError(() => storage.domains.lookupDomains(['example.com']));
      await expectStoreError(() => storage.migrate());
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(base, 'later'));
      await storage.migrate();
      expect((await storage.domains.lookupDomains(['example.com'])).get('example.com')?.local).toBe(false);
    } finally {
      await storage.close();
      await rm(base, { recursive: true, force: true });
    }
  });
});

describeEachBackend(
  'failures',
  (backend) => {
    const open: (TestStorage | KnexStorage)[] = [];
    afterEach(async () => {
      for (const storage of open.splice(0))
        await ('destroy' in storage ? storage.destroy() : storage.close());
    });
    const client = backend.dialect === 'mysql' ? 'mysql' : 'pg';

    it('rejects with POLICYD_ERR_STORE at once when the server refuses connections', async () => {
      const storage = await openStorage({
        client,
        iredapd: { ...backend.settingsFor('nowhere'), host: '127.0.0.1', port: 1 },
        connectTimeoutMs: 1000,
      });
      open.push(storage);
      const elapsed = await expectStoreError(() => storage.domains.lookupDomains(['example.com']));
      expect(elapsed).toBeLessThan(1500);
      await expectStoreError(() =>
        storage.wblist.lookup({ inbound: { accounts: ['@.'], senders: ['192.0.2.1'] } }),
      );
    });

    it('rejects with POLICYD_ERR_STORE within the connect timeout when the server does not answer', async () => {
      // 192.0.2.1 (TEST-NET-1) never answers: either the network refuses at once or the connect times out.
      const storage = await openStorage({
        client,
        iredapd: { ...backend.settingsFor('nowhere'), host: '192.0.2.1' },
        connectTimeoutMs: 700,
      });
      open.push(storage);
      const elapsed = await expectStoreError(() => storage.domains.lookupDomains(['example.com']));
      expect(elapsed).toBeLessThan(2500);
    });

    it('rejects with POLICYD_ERR_STORE for a database that does not exist', async () => {
      const storage = await openStorage({ client, iredapd: backend.settingsFor('policyd_no_such_database') });
      open.push(storage);
      await expectStoreError(() => storage.domains.lookupDomains(['example.com']));
    });

    it('recovers by itself after the server killed its connections', async () => {
      const storage = await backend.createStorage();
      open.push(storage);
      await storage.seedDomains({ domains: [{ domain: 'example.com' }] });
      const lookup = async () =>
        (await storage.domains.lookupDomains(['example.com'])).get('example.com')?.local;
      // Several pooled connections, all idle afterwards.
      expect(await Promise.all([lookup(), lookup(), lookup()])).toEqual([true, true, true]);

      // Another pool on the same server (connected to this test's iredapd database) plays the administrator.
      const admin = await openStorage({ client, iredapd: backend.settingsFor(storage.names.iredapd) });
      open.push(admin);
      const killed = await killConnections(
        admin.databases.iredapd.knex,
        backend.dialect,
        storage.names.vmail,
      );
      expect(killed).toBeGreaterThan(0);
      // The driver notices the closed socket asynchronously; give it a moment, as the next request would.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await lookup()).toBe(true);
      expect(await Promise.all([lookup(), lookup(), lookup()])).toEqual([true, true, true]);
    });

    it('recovers the statement cache (prepared statements) after the server killed its connections', async () => {
      const storage = await backend.createStorage();
      open.push(storage);
      const query = {
        recipients: ['user@example.com', '@example.com', '@.'],
        senders: ['a@example.net', '@example.net', '@.'],
        clientAddress: '192.0.2.1',
        clientKey: '192.0.2.1',
        now: Date.now(),
      };
      const load = () => storage.greylist.loadContext(query).then((c) => c.passedTriplets);
      expect(await Promise.all([load(), load(), load()])).toEqual([0, 0, 0]);
      const admin = await openStorage({ client, iredapd: backend.settingsFor(storage.names.iredapd) });
      open.push(admin);
      expect(
        await killConnections(admin.databases.iredapd.knex, backend.dialect, storage.names.iredapd),
      ).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await load()).toBe(0);
      expect(await Promise.all([load(), load(), load()])).toEqual([0, 0, 0]);
      if (backend.dialect === 'mysql') {
        // A bounded per-connection statement cache (mysql2 preallocates its default of 16 000 entries).
        const config = storage.databases.iredapd.knex.client.config as {
          connection: Record<string, unknown>;
        };
        expect(config.connection.maxPreparedStatements).toBeLessThanOrEqual(1000);
      }
    });
  },
  { only: ['mariadb', 'postgres'] },
);

/** Kill every server connection to `database` (but the caller's own); returns how many were killed. */
async function killConnections(
  admin: import('knex').Knex,
  dialect: 'sqlite' | 'mysql' | 'pg',
  database: string,
): Promise<number> {
  if (dialect === 'pg') {
    const result = (await admin.raw(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()',
      [database],
    )) as { rows: unknown[] };
    return result.rows.length;
  }
  const [rows] = (await admin.raw(
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
    [database],
  )) as [{ id: number }[]];
  for (const row of rows) await admin.raw(`KILL ${Number(row.id)}`);
  return rows.length;
}
