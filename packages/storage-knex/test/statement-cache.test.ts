import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStatementCache, type Param } from '../src/statement-cache.ts';
import { GREYLISTING } from '../src/tables.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';

const G = GREYLISTING.col;

describeEachBackend('statement cache', (backend) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await backend.createStorage();
    for (const account of ['@a.test', '@b.test', '@c.test']) {
      await storage.greylist.setSetting({ account, sender: '@.', active: account !== '@b.test' });
    }
  });
  afterAll(() => storage.destroy());

  /** Accounts among `accounts` whose setting has `active = activeValue` (a constant of the query). */
  function settingsQuery(accounts: readonly string[]) {
    const { knex } = storage.databases.iredapd;
    let builds = 0;
    const build = (p: Param) => {
      builds++;
      return knex(GREYLISTING.name)
        .select(G.account)
        .whereIn(
          G.account,
          accounts.map((_, i) => p(i)),
        )
        .andWhere(G.active, 1)
        .orderBy(G.account);
    };
    return { build, builds: () => builds };
  }

  it('compiles a shape once and binds each call its own values, keeping the constants of the query', async () => {
    const statements = createStatementCache(storage.databases.iredapd.knex, backend.dialect);
    const first = settingsQuery(['@a.test', '@b.test']);
    const rows1 = await statements.select<{ account: unknown }>('two', first.build, ['@a.test', '@b.test']);
    expect(rows1.map((r) => String(r.account))).toEqual(['@a.test']);

    const second = settingsQuery(['@c.test', '@b.test']);
    const rows2 = await statements.select<{ account: unknown }>('two', second.build, ['@c.test', '@b.test']);
    expect(rows2.map((r) => String(r.account))).toEqual(['@c.test']);
    expect(first.builds()).toBe(1);
    expect(second.builds()).toBe(0);
  });

  it('compiles another shape separately', async () => {
    const statements = createStatementCache(storage.databases.iredapd.knex, backend.dialect);
    await statements.select('one', settingsQuery(['@a.test']).build, ['@a.test']);
    const three = settingsQuery(['@a.test', '@b.test', '@c.test']);
    const rows = await statements.select<{ account: unknown }>('three', three.build, [
      '@a.test',
      '@b.test',
      '@c.test',
    ]);
    expect(three.builds()).toBe(1);
    expect(rows.map((r) => String(r.account))).toEqual(['@a.test', '@c.test']);
  });

  it('binds hostile values as values, never as SQL', async () => {
    const statements = createStatementCache(storage.databases.iredapd.knex, backend.dialect);
    const hostile = ["@a.test' OR '1'='1", '?', '??', 'policyd-param:0'];
    const rows = await statements.select('hostile', settingsQuery(hostile).build, hostile);
    expect(rows).toEqual([]);
  });
});

describeEachBackend('statement cache: execute', (backend) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await backend.createStorage();
  });
  afterAll(() => storage.destroy());

  it('runs writes and reads from hand-written SQL, reporting affected rows and rows alike on every backend', async () => {
    const { knex, dialect } = storage.databases.iredapd;
    const statements = createStatementCache(knex, dialect);
    const q = (name: string) => knex.raw('??', [name]).toQuery();
    const insert = `INSERT INTO ${q(GREYLISTING.name)} (${q(G.account)}, ${q(G.sender)}, ${q(G.active)}) VALUES (?, ?, ?)`;
    expect((await statements.execute(insert, ['@x.test', '@.', 1])).affected).toBe(1);
    expect((await statements.execute(insert, ['@y.test', '@.', 0])).affected).toBe(1);
    const update = `UPDATE ${q(GREYLISTING.name)} SET ${q(G.active)} = ? WHERE ${q(G.account)} IN (?, ?)`;
    expect((await statements.execute(update, [1, '@x.test', '@y.test'])).affected).toBe(2);
    const select = `SELECT ${q(G.account)} AS account FROM ${q(GREYLISTING.name)} WHERE ${q(G.active)} = ? ORDER BY ${q(G.account)}`;
    const { rows, affected } = await statements.execute(select, [1]);
    expect(rows.map((r) => String(r.account))).toEqual(['@x.test', '@y.test']);
    expect(affected).toBe(2);
  });

  it('throws the driver error as it is, with its code, and keeps the pool usable', async () => {
    const { knex, dialect } = storage.databases.iredapd;
    const statements = createStatementCache(knex, dialect);
    const q = (name: string) => knex.raw('??', [name]).toQuery();
    const insert = `INSERT INTO ${q(GREYLISTING.name)} (${q(G.account)}, ${q(G.sender)}) VALUES (?, ?)`;
    await statements.execute(insert, ['@dup.test', '@.']);
    const err = await statements.execute(insert, ['@dup.test', '@.']).then(
      () => undefined,
      (e: unknown) => e as { code?: unknown },
    );
    expect(err?.code).toBeDefined();
    // Every pooled connection still answers afterwards.
    for (let i = 0; i < 12; i++) {
      expect((await statements.execute(`SELECT 1 AS one`, [])).rows).toHaveLength(1);
    }
  });
});
