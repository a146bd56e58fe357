/**
 * What the conformance suites cannot see of the greylisting and throttle SQL stores: statements per decision,
 * cleanup in bounded batches on a backlog, atomicity across two pools (two daemons), iRedAPD's own tables
 * (PostgreSQL's without unique keys on `throttle*`), and failures.
 */

import type { GreylistAttemptTimes, GreylistTriplet, ThrottleCharge } from '@policyd/core';
import { isPolicydError } from '@policyd/core';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { type CounterLockKey, mysqlCounterLockNames, pgCounterLockKeys } from '../src/counter-locks.ts';
import { openStorage } from '../src/open-storage.ts';
import { type KnexStorage, knexStorage } from '../src/storage.ts';
import { GREYLISTING_TRACKING, THROTTLE, THROTTLE_TRACKING } from '../src/tables.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';
import { seedGreylist } from './greylist-seed.ts';
import { iredmailDdl } from './iredmail-ddl.ts';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;
const BLOCK = 900 * S;

const times = (now: number): GreylistAttemptTimes => ({
  now,
  blockExpiresAt: now + BLOCK,
  unauthExpiresAt: now + 86_400 * S,
  authExpiresAt: now + 30 * 86_400 * S,
});

const triplet = (sender: string, clientKey = '192.0.2.10'): GreylistTriplet => ({
  sender,
  senderDomain: 'example.net',
  recipient: 'user@example.com',
  recipientDomain: 'example.com',
  clientKey,
});

/** The SQL statements `fn` sends through `knex` (transaction statements included). */
async function statements(
  knex: Knex,
  fn: () => Promise<unknown>,
): Promise<{ sql: string; bindings: unknown[] }[]> {
  const seen: { sql: string; bindings: unknown[] }[] = [];
  const listener = (query: { sql: string; bindings?: unknown[] }) =>
    seen.push({ sql: query.sql, bindings: query.bindings ?? [] });
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.removeListener('query', listener);
  }
  return seen;
}

async function expectStoreError(call: () => Promise<unknown>): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  expect(isPolicydError(error, 'POLICYD_ERR_STORE'), String(error)).toBe(true);
}

describeEachBackend('iredapd stores', (backend) => {
  const open: (TestStorage | KnexStorage)[] = [];
  afterEach(async () => {
    for (const storage of open.splice(0)) await ('destroy' in storage ? storage.destroy() : storage.close());
  });
  const create = async (...args: Parameters<typeof backend.createStorage>): Promise<TestStorage> => {
    const storage = await backend.createStorage(...args);
    open.push(storage);
    return storage;
  };
  // SQLite's transactions start with a no-op write that takes the file's write lock.
  const lockStatements = backend.dialect === 'sqlite' ? 1 : 0;

  describe('statements per decision', () => {
    it('greylisting: loadContext 1, refreshPassed 1, recordAttempt 1 (PostgreSQL) or 1/3/4', async () => {
      const storage = await create();
      const { knex } = storage.databases.iredapd;
      const { greylist } = storage;
      await greylist.replaceDomainNetworks('example.org', ['192.0.2.0/24', '2001:db8::/32']);
      await greylist.setSetting({ account: '@.', sender: '@.', active: true });
      const query = {
        recipients: ['user@example.com', '@example.com', '@.'],
        senders: ['sender@example.net', '@example.net', '@.', '192.0.2.10', '192.0.2.*'],
        clientAddress: '192.0.2.10',
        clientKey: '192.0.2.10',
        now: T0,
      };
      let context: Awaited<ReturnType<typeof greylist.loadContext>> | undefined;
      expect(await statements(knex, async () => (context = await greylist.loadContext(query)))).toHaveLength(
        1,
      );
      expect(context?.whitelist).toEqual([
        { account: '@.', sender: '192.0.2.0/24', source: 'spf', byNetwork: true },
      ]);
      expect(context?.settings).toHaveLength(1);

      const pg = backend.dialect === 'pg';
      const attempt = async (now: number) => {
        let outcome = '';
        const sent = await statements(knex, async () => {
          outcome = (await greylist.recordAttempt(triplet('a@example.net'), times(now))).outcome;
        });
        return [outcome, sent.length];
      };
      expect(await attempt(T0)).toEqual(['new', 1]);
      expect(await attempt(T0 + S)).toEqual(['too-early', pg ? 1 : 3]);
      expect(await attempt(T0 + BLOCK)).toEqual(['passed', pg ? 1 : 4]);
      expect(await attempt(T0 + BLOCK + S)).toEqual(['still-passed', pg ? 1 : 4]);
      expect(await statements(knex, () => greylist.refreshPassed('192.0.2.10', T0 + 2 * BLOCK))).toHaveLength(
        1,
      );
    });

    it('throttle: findSettings 1 for several kinds, consume one transaction and its counter locks', async () => {
      const storage = await create();
      const { knex } = storage.databases.iredapd;
      const { throttle } = storage;
      const user = await throttle.setSetting({
        account: 'user@example.com',
        kind: 'outbound',
        periodSeconds: 60,
        maxMessages: 2,
      });
      await throttle.setSetting({ account: '@.', kind: 'inbound', periodSeconds: 60 });
      let found: Awaited<ReturnType<typeof throttle.findSettings>> = [];
      const lookups = await statements(knex, async () => {
        found = await throttle.findSettings([
          { kind: 'outbound', accounts: ['user@example.com', '@example.com', '@.'] },
          { kind: 'inbound', accounts: ['rcpt@example.org', '@.'] },
        ]);
      });
      expect(lookups).toHaveLength(1);
      expect(found.map((list) => list.length)).toEqual([1, 1]);

      const charge: ThrottleCharge = {
        settingId: user.id,
        trackingAccount: 'user@example.com',
        periodSeconds: 60,
        messages: 1,
        bytes: 10,
        maxMessages: 2,
      };
      const consume = async (now: number) => {
        let admitted: boolean | undefined;
        const sent = await statements(knex, async () => {
          admitted = (await throttle.consume([charge], now)).admitted;
        });
        return [admitted, sent.length - lockStatements];
      };
      // PostgreSQL: BEGIN, advisory lock, read, write, COMMIT; MySQL: GET_LOCK, BEGIN, read, write, COMMIT,
      // RELEASE_LOCK; SQLite: BEGIN, read, write, COMMIT (after its no-op write).
      const admitted = { sqlite: 4, mysql: 6, pg: 5 }[backend.dialect];
      expect(await consume(T0)).toEqual([true, admitted]); // the counter is inserted
      expect(await consume(T0 + S)).toEqual([true, admitted]); // and updated
      expect(await consume(T0 + 2 * S)).toEqual([false, admitted]); // the notification claim is written
      expect(await consume(T0 + 3 * S)).toEqual([false, admitted - 1]); // nothing to write
    });
  });

  describe('greylisting first attempts and the triplet in loadContext', () => {
    const attempts = (count: number, from = 0) =>
      Array.from({ length: count }, (_, i) => ({
        triplet: triplet(`s${from + i}@example.net`, `198.51.100.${(from + i) % 5}`),
        times: times(T0),
      }));
    const contextOf = (t: GreylistTriplet) => ({
      recipients: ['user@example.com'],
      senders: [t.sender],
      clientAddress: t.clientKey,
      clientKey: t.clientKey,
      now: T0,
      triplet: t,
    });

    it('count the rows inserted, not the duplicates skipped, in every statement form', async () => {
      const storage = await create();
      const { greylist } = storage;
      const { knex } = storage.databases.iredapd;
      // One row (the INSERT of recordAttempt), prepared multi-row (≤ 16), one-off (≤ 500), a transaction.
      for (const count of [1, 12, 300, 1100]) {
        const from = count * 10_000;
        await greylist.recordFirstAttempts(attempts(Math.ceil(count / 3), from));
        let result: Awaited<ReturnType<typeof greylist.recordFirstAttempts>> | undefined;
        const sent = await statements(knex, async () => {
          result = await greylist.recordFirstAttempts(attempts(count, from));
        });
        expect(result).toEqual({ inserted: count - Math.ceil(count / 3), unstorable: [] });
        // Several statements run in a transaction: BEGIN, (SQLite's lock,) one INSERT per 500 rows, COMMIT.
        expect(sent).toHaveLength(count > 500 ? 2 + lockStatements + Math.ceil(count / 500) : 1);
      }
    });

    if (backend.dialect === 'mysql') {
      it('MySQL: mysql2 counts a duplicate that ON DUPLICATE KEY UPDATE id = id skips as affected', async () => {
        const storage = await create();
        const { knex } = storage.databases.iredapd;
        await storage.greylist.recordAttempt(triplet('a@example.net'), times(T0));
        const c = GREYLISTING_TRACKING.col;
        const [header] = (await knex.raw(
          `INSERT INTO ${GREYLISTING_TRACKING.name} (${c.sender}, ${c.recipient}, ${c.clientAddress}) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE ${c.id} = ${c.id}`,
          [
            'a@example.net',
            'user@example.com',
            '192.0.2.10',
            'b@example.net',
            'user@example.com',
            '192.0.2.10',
          ],
        )) as [{ affectedRows: number; info: string }];
        // CLIENT_FOUND_ROWS (mysql2's default): the skipped row counts 1, like the inserted one; the info
        // text tells them apart.
        expect(header.affectedRows).toBe(2);
        expect(header.info).toMatch(/^Records: 2 {2}Duplicates: 1 {2}Warnings: 0$/);
        const result = await storage.greylist.recordFirstAttempts(
          ['a', 'b', 'c'].map((s) => ({ triplet: triplet(`${s}@example.net`), times: times(T0) })),
        );
        expect(result.inserted).toBe(1);
      });
    }

    it('compare the triplet exactly, whatever the collation', async () => {
      const storage = await create();
      const { greylist } = storage;
      await greylist.recordFirstAttempts([
        { triplet: triplet('Upper@example.net'), times: times(T0) },
        { triplet: triplet('b@example.net'), times: times(T0) },
      ]);
      expect((await greylist.loadContext(contextOf(triplet('upper@example.net')))).triplet).toBeNull();
      expect((await greylist.loadContext(contextOf(triplet('b@example.net ')))).triplet).toBeNull();
      expect(
        (await greylist.loadContext(contextOf(triplet('b@example.net', '192.0.2.1')))).triplet,
      ).toBeNull();
      expect((await greylist.loadContext(contextOf(triplet('Upper@example.net')))).triplet).toMatchObject({
        sender: 'Upper@example.net',
        firstSeenAt: T0,
      });
    });

    it('write inside the transaction a store is bound to, and are rolled back with it', async () => {
      const storage = await create();
      const { knex } = storage.databases.iredapd;
      const trx = await knex.transaction();
      try {
        const { greylist } = knexStorage({ iredapd: trx });
        for (const [count, from] of [
          [1, 0],
          [5, 100],
          [40, 200],
          [1100, 1000],
        ] as const) {
          expect((await greylist.recordFirstAttempts(attempts(count, from))).inserted).toBe(count);
        }
        const first = attempts(1)[0]!.triplet;
        expect((await greylist.loadContext(contextOf(first))).triplet).toMatchObject(first);
        expect((await greylist.findTriplets('198.51.100.3')).length).toBe(229);
      } finally {
        await trx.rollback();
      }
      expect(await storage.greylist.findTriplets('198.51.100.3')).toEqual([]);
    });
  });

  describe('whitelist spellings', () => {
    it('match manual networks in any spelling, generated rows as stored (canonical)', async () => {
      const storage = await create();
      await seedGreylist(storage.databases.iredapd, {
        whitelists: [
          { account: '@.', sender: '2001:DB8:5::/48', source: 'manual' },
          { account: '@.', sender: '::ffff:198.51.100.0/120', source: 'manual' },
          { account: '@.', sender: '2001:db8::/32', source: 'spf' },
          { account: '@.', sender: '198.51.0.0/16', source: 'spf' },
          { account: '@.', sender: '198.51.100.0/25', source: 'spf' },
        ],
      });
      const load = (ip: string) =>
        storage.greylist.loadContext({
          recipients: ['@.'],
          senders: [ip],
          clientAddress: ip,
          clientKey: ip,
          now: T0,
        });
      expect((await load('2001:db8:5::1')).whitelist.map((w) => [w.source, w.sender])).toEqual([
        ['manual', '2001:DB8:5::/48'],
        ['spf', '2001:db8::/32'],
      ]);
      expect((await load('198.51.100.7')).whitelist.map((w) => [w.source, w.sender])).toEqual([
        ['manual', '::ffff:198.51.100.0/120'],
        ['spf', '198.51.0.0/16'],
        ['spf', '198.51.100.0/25'],
      ]);
      expect((await load('198.51.100.200')).whitelist.map((w) => w.sender)).toEqual([
        '::ffff:198.51.100.0/120',
        '198.51.0.0/16',
      ]);
    });
  });

  describe('cleanup of a backlog', () => {
    it('deletes thousands of expired triplets in batches, no statement touching more than a batch', async () => {
      const storage = await create();
      const { knex } = storage.databases.iredapd;
      const c = GREYLISTING_TRACKING.col;
      const now = T0 / 1000;
      const row = (i: number, recordExpired: number) => ({
        [c.sender]: `s${i}@example.net`,
        [c.recipient]: 'user@example.com',
        [c.clientAddress]: '192.0.2.10',
        [c.senderDomain]: 'example.net',
        [c.rcptDomain]: 'example.com',
        [c.initTime]: now - 100,
        [c.blockExpired]: now - 50,
        [c.recordExpired]: recordExpired,
        [c.blockedCount]: 1,
        [c.passed]: 0,
      });
      const rows = [
        ...Array.from({ length: 2500 }, (_, i) => row(i, now - 1 - (i % 7))),
        ...Array.from({ length: 300 }, (_, i) => row(10_000 + i, now + (i % 2))),
      ];
      for (let i = 0; i < rows.length; i += 200)
        await knex(GREYLISTING_TRACKING.name).insert(rows.slice(i, i + 200));

      let result: unknown;
      const sent = await statements(knex, async () => {
        result = await storage.greylist.cleanup({ now: T0, batchSize: 1000 });
      });
      expect(result).toEqual({ deleted: 2500, batches: 3, more: false });
      const deletes = sent.filter((s) => /^delete/i.test(s.sql));
      const selects = sent.filter((s) => /^select/i.test(s.sql));
      expect(selects).toHaveLength(3);
      expect(deletes).toHaveLength(5); // 1000 ids → 2 statements of 500, twice; then 500 ids
      for (const statement of deletes) expect(statement.bindings.length).toBeLessThanOrEqual(501);
      expect(Number((await knex(GREYLISTING_TRACKING.name).count({ n: '*' }))[0]?.n)).toBe(300);
    });

    it('deletes thousands of finished throttle windows in batches, with a batch limit', async () => {
      const storage = await create();
      const { knex } = storage.databases.iredapd;
      const setting = await storage.throttle.setSetting({
        account: '@.',
        kind: 'outbound',
        periodSeconds: 60,
      });
      const c = THROTTLE_TRACKING.col;
      const now = T0 / 1000;
      const rows = Array.from({ length: 2200 }, (_, i) => ({
        [c.tid]: setting.id,
        [c.account]: `u${i}@example.com`,
        [c.period]: 60,
        [c.curMsgs]: 1,
        [c.curQuota]: 10,
        // 2000 finished windows (ended 1–5 s ago), 200 current ones (ending now or later).
        [c.initTime]: i < 2000 ? now - 61 - (i % 5) : now - 60 + (i % 3),
        [c.lastTime]: now - 61,
      }));
      for (let i = 0; i < rows.length; i += 200)
        await knex(THROTTLE_TRACKING.name).insert(rows.slice(i, i + 200));
      expect(await storage.throttle.cleanup({ now: T0, batchSize: 700, maxBatches: 2 })).toEqual({
        deleted: 1400,
        batches: 2,
        more: true,
      });
      expect(await storage.throttle.cleanup({ now: T0, batchSize: 700 })).toEqual({
        deleted: 600,
        batches: 1,
        more: false,
      });
      expect(await storage.throttle.listCounters({ settingId: setting.id })).toHaveLength(200);
    });
  });

  describe('two daemons (two pools on the same databases)', () => {
    // Servers only: two SQLite pools in one process would wait for each other's write lock in better-sqlite3's
    // synchronous busy handler, which blocks the very event loop the lock holder needs to commit. Daemons are
    // separate processes, where that wait blocks only the waiting one.
    if (backend.dialect !== 'sqlite') {
      it('admit exactly the limit between them, and notify once', async () => {
        const storage = await create();
        const other = await storage.connectAgain();
        const setting = await storage.throttle.setSetting({
          account: 'user@example.com',
          kind: 'outbound',
          periodSeconds: 3600,
          maxMessages: 10,
        });
        const charge: ThrottleCharge = {
          settingId: setting.id,
          trackingAccount: 'user@example.com',
          periodSeconds: 3600,
          messages: 1,
          bytes: 1,
          maxMessages: 10,
        };
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? storage : other).throttle.consume([charge], T0),
          ),
        );
        expect(results.filter((r) => r.admitted)).toHaveLength(10);
        expect(results.filter((r) => r.rejection?.notify === true)).toHaveLength(1);
        expect((await other.throttle.listCounters({ settingId: setting.id }))[0]?.messages).toBe(10);
      });
    }

    it('record overlapping batches of first attempts at once, each triplet once', async () => {
      const storage = await create();
      const other = await storage.connectAgain();
      const batch = (from: number) =>
        Array.from({ length: 400 }, (_, i) => ({
          triplet: triplet(`s${from + i}@example.net`, `198.51.100.${(from + i) % 4}`),
          times: times(T0),
        }));
      // Reversed and overlapping: the stores sort the rows, so the two statements lock keys in one order.
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? storage : other).greylist.recordFirstAttempts(
            i % 2 === 0 ? batch(i * 100) : batch(i * 100).reverse(),
          ),
        ),
      );
      const total = results.reduce((sum, r) => sum + r.inserted, 0);
      expect(total).toBe(900);
      const rows = await Promise.all(
        [0, 1, 2, 3].map((k) => storage.greylist.findTriplets(`198.51.100.${k}`)),
      );
      expect(rows.flat()).toHaveLength(900);
    });

    it('create one tracking row for a triplet first seen by both at once', async () => {
      const storage = await create();
      const other = await storage.connectAgain();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? storage : other).greylist.recordAttempt(triplet('burst@example.net'), times(T0)),
        ),
      );
      expect(results.filter((r) => r.outcome === 'new')).toHaveLength(1);
      const rows = await storage.greylist.findTriplets('192.0.2.10');
      expect(rows.map((r) => r.blockedCount)).toEqual([20]);
      // Every too-early attempt reports the count it wrote: 2 … 20, each once.
      const counts = results.filter((r) => r.outcome === 'too-early').map((r) => r.triplet.blockedCount);
      expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
    });
  });

  // Servers only: SQLite has one write lock for the whole file, no counter locks.
  if (backend.dialect !== 'sqlite') {
    describe('throttle counter locks', () => {
      type Client = {
        acquireConnection(): Promise<unknown>;
        releaseConnection(c: unknown): Promise<unknown>;
      };
      const pg = backend.dialect === 'pg';
      /** A session of its own holding (or releasing) the lock of one counter, as a concurrent consume would. */
      const lockSql = pg ? 'SELECT pg_advisory_lock(?::bigint)' : 'SELECT GET_LOCK(?, 10)';
      const unlockSql = pg ? 'SELECT pg_advisory_unlock(?::bigint)' : 'SELECT RELEASE_LOCK(?)';
      const lockOf = (key: CounterLockKey): string =>
        (pg ? pgCounterLockKeys([key]) : mysqlCounterLockNames([key]))[0]!;

      async function setup() {
        const storage = await create();
        const setting = await storage.throttle.setSetting({
          account: '@.',
          kind: 'outbound',
          periodSeconds: 3600,
          maxMessages: 100,
        });
        const charge = (trackingAccount: string): ThrottleCharge => ({
          settingId: setting.id,
          trackingAccount,
          periodSeconds: 3600,
          messages: 1,
          bytes: 1,
          maxMessages: 100,
        });
        const { knex } = storage.databases.iredapd;
        const client = knex.client as Client;
        const holder = await client.acquireConnection();
        const release = () => client.releaseConnection(holder);
        return { storage, setting, charge, knex, holder, release };
      }

      it("let other users of one setting pass while a user's counter is locked, and queue that user", async () => {
        const { storage, setting, charge, knex, holder, release } = await setup();
        const lock = lockOf({ settingId: setting.id, trackingAccount: 'a@example.com' });
        try {
          await knex.raw(lockSql, [lock]).connection(holder);
          let aDone = false;
          const a = storage.throttle.consume([charge('a@example.com')], T0).then((result) => {
            aDone = true;
            return result;
          });
          const others = await Promise.all(
            ['b@example.com', 'c@example.org'].map((user) => storage.throttle.consume([charge(user)], T0)),
          );
          expect(others.map((r) => r.admitted)).toEqual([true, true]);
          await new Promise((resolve) => setTimeout(resolve, 150));
          expect(aDone).toBe(false);
          await knex.raw(unlockSql, [lock]).connection(holder);
          expect((await a).admitted).toBe(true);
          const counters = await storage.throttle.listCounters({ settingId: setting.id });
          expect(counters.map((c) => [c.trackingAccount, c.messages])).toEqual([
            ['a@example.com', 1],
            ['b@example.com', 1],
            ['c@example.org', 1],
          ]);
        } finally {
          await release();
        }
      });

      it('report a setting deleted between the read and the write as missing, adding no counter', async () => {
        const { storage, setting, charge, knex, holder, release } = await setup();
        try {
          // An uncommitted deleteSetting: the consume reads the setting, then its INSERT waits on the foreign key.
          await knex.raw('BEGIN').connection(holder);
          await knex
            .raw('DELETE FROM ?? WHERE ?? = ?', [THROTTLE.name, THROTTLE.col.id, setting.id])
            .connection(holder);
          const consumed = storage.throttle.consume([charge('a@example.com')], T0).then(
            () => undefined,
            (err: unknown) => err,
          );
          await new Promise((resolve) => setTimeout(resolve, 300));
          await knex.raw('COMMIT').connection(holder);
          const error = await consumed;
          expect(isPolicydError(error, 'POLICYD_ERR_INVALID_OPTION'), String(error)).toBe(true);
          expect(await storage.throttle.listCounters({ trackingAccount: 'a@example.com' })).toEqual([]);
        } finally {
          await release();
        }
      });

      it('admit exactly the limit per user when many users share the setting', async () => {
        const { storage, setting, charge, release } = await setup();
        await release();
        const users = ['a@example.com', 'b@example.com', 'c@example.com'];
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            storage.throttle.consume([{ ...charge(users[i % 3]!), maxMessages: 7 }], T0),
          ),
        );
        expect(results.filter((r) => r.admitted)).toHaveLength(21);
        const counters = await storage.throttle.listCounters({ settingId: setting.id });
        expect(counters.map((c) => c.messages)).toEqual([7, 7, 7]);
      });

      if (!pg) {
        it('return no connection to the pool holding a lock, after a success or an error', async () => {
          const { storage, setting, charge, knex, holder, release } = await setup();
          try {
            const free = async (settingId: number, user: string) => {
              const result = await knex
                .raw('SELECT IS_USED_LOCK(?) AS used', [lockOf({ settingId, trackingAccount: user })])
                .connection(holder);
              return (result as [{ used: unknown }[]])[0][0]?.used === null;
            };
            expect((await storage.throttle.consume([charge('A@Example.com')], T0)).admitted).toBe(true);
            expect(await free(setting.id, 'a@example.com')).toBe(true);
            const missing = { ...charge('a@example.com'), settingId: setting.id + 1000 };
            let error: unknown;
            try {
              await storage.throttle.consume([charge('b@example.com'), missing], T0);
            } catch (err) {
              error = err;
            }
            expect(isPolicydError(error, 'POLICYD_ERR_INVALID_OPTION'), String(error)).toBe(true);
            expect(await free(setting.id, 'b@example.com')).toBe(true);
            expect(await free(setting.id + 1000, 'a@example.com')).toBe(true);
            expect(await storage.throttle.listCounters({ settingId: setting.id })).toHaveLength(1);
          } finally {
            await release();
          }
        });
      }
    });
  }

  describe("iRedAPD's own tables", () => {
    /** iRedAPD's `iredapd` tables as its SQL files create them; `noUniqueThrottleKeys` drops MySQL's keys too. */
    async function iredmailStorage(noUniqueThrottleKeys: boolean): Promise<TestStorage> {
      const storage = await create({ migrate: false, layout: 'shared' });
      const { knex } = storage.databases.iredapd;
      for (const statement of iredmailDdl(backend.dialect, 'iredapd')) {
        const throttleOnly = /throttle/.test(statement) && !/greylisting/.test(statement);
        await knex.raw(
          noUniqueThrottleKeys && throttleOnly ? statement.replaceAll('UNIQUE ', '') : statement,
        );
      }
      return storage;
    }

    it('serialise consume and settings without unique keys on throttle and throttle_tracking', async () => {
      const storage = await iredmailStorage(true);
      const { throttle } = storage;
      const settings = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          throttle.setSetting({
            account: '@example.com',
            kind: 'outbound',
            periodSeconds: 60,
            maxMessages: 10 + i,
          }),
        ),
      );
      expect(new Set(settings.map((s) => s.id)).size).toBe(1);
      expect(await throttle.listSettings()).toHaveLength(1);
      const setting = settings[0]!;
      await throttle.setSetting({
        account: '@example.com',
        kind: 'outbound',
        periodSeconds: 60,
        maxMessages: 10,
      });
      const charge: ThrottleCharge = {
        settingId: setting.id,
        trackingAccount: 'user@example.com',
        periodSeconds: 60,
        messages: 1,
        bytes: 1,
        maxMessages: 10,
      };
      const results = await Promise.all(Array.from({ length: 50 }, () => throttle.consume([charge], T0)));
      expect(results.filter((r) => r.admitted)).toHaveLength(10);
      expect(await throttle.listCounters({ settingId: setting.id })).toHaveLength(1);
    });

    it('count on the oldest of duplicate counters that iRedAPD left behind', async () => {
      const storage = await iredmailStorage(true);
      const { knex } = storage.databases.iredapd;
      const setting = await storage.throttle.setSetting({
        account: '203.0.113.*',
        kind: 'external',
        periodSeconds: 60,
      });
      const c = THROTTLE_TRACKING.col;
      const now = T0 / 1000;
      for (const messages of [3, 1]) {
        await knex(THROTTLE_TRACKING.name).insert({
          [c.tid]: setting.id,
          [c.account]: '203.0.113.*',
          [c.period]: 60,
          [c.curMsgs]: messages,
          [c.curQuota]: 100,
          [c.initTime]: now,
          [c.lastTime]: now,
        });
      }
      const result = await storage.throttle.consume(
        [{ settingId: setting.id, trackingAccount: '203.0.113.*', periodSeconds: 60, messages: 1, bytes: 1 }],
        T0 + S,
      );
      expect(result.counters[0]?.after.messages).toBe(4);
      const counters = await storage.throttle.listCounters({ trackingAccount: '203.0.113.*' });
      expect(counters.map((counter) => counter.messages)).toEqual([4, 1]);
    });

    it('greylist on them, and refuse sliding windows until migrate() adds their columns', async () => {
      const storage = await iredmailStorage(false);
      const { greylist, throttle } = storage;
      expect((await greylist.recordAttempt(triplet('a@example.net'), times(T0))).outcome).toBe('new');
      expect((await greylist.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK))).outcome).toBe(
        'passed',
      );
      const firsts = ['b', 'c', 'a'].map((s) => ({ triplet: triplet(`${s}@example.net`), times: times(T0) }));
      expect(await greylist.recordFirstAttempts(firsts)).toEqual({ inserted: 2, unstorable: [] });
      expect(await greylist.recordFirstAttempts(firsts.slice(0, 1))).toEqual({ inserted: 0, unstorable: [] });
      const withTriplet = await greylist.loadContext({
        recipients: ['@.'],
        senders: ['b@example.net'],
        clientAddress: '192.0.2.10',
        clientKey: '192.0.2.10',
        now: T0,
        triplet: triplet('b@example.net'),
      });
      expect(withTriplet.triplet).toMatchObject({ sender: 'b@example.net', firstSeenAt: T0, passed: false });
      expect(
        (
          await greylist.loadContext({
            recipients: ['@.'],
            senders: [],
            clientAddress: '192.0.2.10',
            clientKey: '192.0.2.10',
            now: T0,
          })
        ).passedTriplets,
      ).toBe(1);

      const setting = await throttle.setSetting({
        account: 'user@example.com',
        kind: 'outbound',
        periodSeconds: 60,
      });
      const charge: ThrottleCharge = {
        settingId: setting.id,
        trackingAccount: 'user@example.com',
        periodSeconds: 60,
        messages: 1,
        bytes: 1,
        maxMessages: 5,
      };
      expect((await throttle.consume([charge], T0)).admitted).toBe(true);
      await expectStoreError(() => throttle.consume([{ ...charge, algorithm: 'sliding' }], T0));
      await storage.migrate();
      const sliding = await throttle.consume([{ ...charge, algorithm: 'sliding' }], T0 + S);
      expect(sliding.counters[0]?.after).toMatchObject({ messages: 2, previousMessages: 0 });
      expect((await throttle.listCounters({ settingId: setting.id }))[0]).toMatchObject({
        messages: 2,
        previousMessages: 0,
        periodSeconds: 120,
      });
    });
  });

  if (backend.dialect !== 'sqlite') {
    it('rejects values too long for the columns with POLICYD_ERR_STORE and stores nothing', async () => {
      const storage = await create();
      const { greylist } = storage;
      // greylisting_whitelists.sender is VARCHAR(100) on MySQL, and 255 everywhere on PostgreSQL.
      const label = 'a'.repeat(60);
      const domain = `${label}.${label}.${label}.${label}.example`; // comment 'AUTO-UPDATE: …' > 255
      const address = `${'b'.repeat(260)}@example.com`; // tracking sender: VARCHAR(255)
      if (backend.dialect === 'mysql') {
        await expectStoreError(() =>
          greylist.addWhitelist({ account: '@.', sender: `${'c'.repeat(100)}@x.test` }),
        );
      }
      await expectStoreError(() =>
        greylist.replaceDomainNetworks(domain, ['192.0.2.0/24', '198.51.100.0/24']),
      );
      await expectStoreError(() =>
        greylist.recordAttempt({ ...triplet('a@example.net'), sender: `x${address}` }, times(T0)),
      );
      expect(await greylist.listWhitelists()).toEqual([]);
      expect(await greylist.findTriplets('192.0.2.10')).toEqual([]);
    });

    it('fails with POLICYD_ERR_STORE when the server refuses connections', async () => {
      const storage = await openStorage({
        client: backend.dialect === 'mysql' ? 'mysql' : 'pg',
        iredapd: { ...backend.settingsFor('nowhere'), host: '127.0.0.1', port: 1 },
        connectTimeoutMs: 1000,
      });
      open.push(storage);
      const started = Date.now();
      await expectStoreError(() =>
        storage.greylist.loadContext({
          recipients: ['@.'],
          senders: [],
          clientAddress: '',
          clientKey: 'x',
          now: T0,
        }),
      );
      await expectStoreError(() => storage.greylist.recordAttempt(triplet('a@example.net'), times(T0)));
      for (const count of [1, 2, 20, 501]) {
        await expectStoreError(() =>
          storage.greylist.recordFirstAttempts(
            Array.from({ length: count }, (_, i) => ({
              triplet: triplet(`s${i}@example.net`),
              times: times(T0),
            })),
          ),
        );
      }
      await expectStoreError(() =>
        storage.throttle.consume(
          [{ settingId: 1, trackingAccount: 'a', periodSeconds: 60, messages: 1, bytes: 1 }],
          T0,
        ),
      );
      expect(Date.now() - started).toBeLessThan(4000);
    });
  }
});
