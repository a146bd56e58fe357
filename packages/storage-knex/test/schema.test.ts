import { afterEach, expect, it } from 'vitest';
import { DATABASE_TABLES, type LogicalDatabase } from '../src/migrations.ts';
import { IREDAPD_EXTENSION_COLUMNS } from '../src/schema/iredapd.ts';
import { binaryValue } from '../src/sql.ts';
import { ALIAS_DOMAIN, DOMAIN, MAILADDR, USERS, WBLIST } from '../src/tables.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';
import { type TableShape, tableShape } from './introspect.ts';
import { iredmailDdl } from './iredmail-ddl.ts';

const DATABASES: readonly LogicalDatabase[] = ['iredapd', 'amavisd', 'vmail'];

describeEachBackend('schema', (backend) => {
  const open: TestStorage[] = [];
  const create = async (...args: Parameters<typeof backend.createStorage>) => {
    const storage = await backend.createStorage(...args);
    open.push(storage);
    return storage;
  };
  afterEach(async () => {
    for (const storage of open.splice(0)) await storage.destroy();
  });

  /** Table shapes; `withoutExtensions` leaves out policyd's own extra columns (compared with iRedAPD's DDL). */
  async function shapes(storage: TestStorage, withoutExtensions = false): Promise<Map<string, TableShape>> {
    const result = new Map<string, TableShape>();
    for (const database of DATABASES) {
      const { knex, dialect } = storage.databases[database];
      for (const spec of DATABASE_TABLES[database]) {
        const shape = await tableShape(knex, dialect, spec.name);
        const extra = new Set(
          IREDAPD_EXTENSION_COLUMNS.filter((e) => database === 'iredapd' && e.table === spec.name).map(
            (e) => e.column.name,
          ),
        );
        result.set(
          `${database}.${spec.name}`,
          withoutExtensions ? { ...shape, columns: shape.columns.filter((c) => !extra.has(c.name)) } : shape,
        );
      }
    }
    return result;
  }

  async function createIredmailTables(storage: TestStorage, upgradeColumns = true): Promise<void> {
    for (const database of DATABASES) {
      const { knex } = storage.databases[database];
      for (const statement of iredmailDdl(backend.dialect, database, { upgradeColumns }))
        await knex.raw(statement);
    }
  }

  it("creates iRedAPD's and iRedMail's tables: columns, types, defaults, keys and indexes", async () => {
    const fresh = await create();
    const migrated = await shapes(fresh, true);
    for (const { table, column } of IREDAPD_EXTENSION_COLUMNS) {
      expect(
        await fresh.databases.iredapd.knex.schema.hasColumn(table, column.name),
        `${table}.${column.name}`,
      ).toBe(true);
    }
    const reference = await create({ migrate: false });
    await createIredmailTables(reference);
    const expected = await shapes(reference);
    for (const [table, shape] of migrated) {
      const want = expected.get(table);
      expect(want, table).toBeDefined();
      if (table.startsWith('vmail.')) {
        // vmail: only the columns the stores read are created; each must be exactly iRedMail's.
        for (const column of shape.columns) expect(want?.columns, table).toContainEqual(column);
        for (const index of shape.indexes) expect(want?.indexes, table).toContain(index);
      } else {
        expect(shape, table).toEqual(want);
      }
    }
    expect([...migrated.keys()].length).toBe(17);
  });

  it('leaves an existing iRedMail database untouched, and the stores work on it', async () => {
    const storage = await create({ migrate: false });
    await createIredmailTables(storage);
    const vmail = storage.databases.vmail.knex;
    const amavisd = storage.databases.amavisd.knex;
    await vmail(DOMAIN.name).insert({ [DOMAIN.col.domain]: 'example.com' });
    await vmail(ALIAS_DOMAIN.name).insert({
      [ALIAS_DOMAIN.col.aliasDomain]: 'alias.test',
      [ALIAS_DOMAIN.col.targetDomain]: 'example.com',
    });
    await amavisd(USERS.name).insert({ [USERS.col.email]: binaryValue('@.'), [USERS.col.priority]: 0 });
    await amavisd(MAILADDR.name).insert({
      [MAILADDR.col.email]: binaryValue('192.0.2.66'),
      [MAILADDR.col.priority]: 10,
    });
    const [user] = (await amavisd(USERS.name).select(USERS.col.id)) as { id: number }[];
    const [address] = (await amavisd(MAILADDR.name).select(MAILADDR.col.id)) as { id: number }[];
    await amavisd(WBLIST.name).insert({ rid: user?.id, sid: address?.id, wb: 'B' });

    const before = await shapes(storage);
    const extensions = IREDAPD_EXTENSION_COLUMNS.map(
      ({ table, column }) => `iredapd.${table}.${column.name}`,
    ).sort();
    expect(await storage.checkSchema()).toEqual({ ok: extensions.length === 0, missing: extensions });
    await storage.migrate();
    await storage.migrate();
    expect(await storage.checkSchema()).toEqual({ ok: true, missing: [] });
    // Nothing of iRedMail's changed; only policyd's own extra columns (if any) were added.
    expect(await shapes(storage, true)).toEqual(before);

    expect((await storage.domains.lookupDomains(['alias.test'])).get('alias.test')).toEqual({
      local: false,
      backupMx: false,
      aliasTarget: 'example.com',
    });
    const { inbound } = await storage.wblist.lookup({
      inbound: { accounts: ['user@example.com', '@example.com', '@.'], senders: ['192.0.2.66'] },
    });
    expect(inbound.map((m) => `${m.account} ${m.list} ${m.address}`)).toEqual(['@. blacklist 192.0.2.66']);
    expect(
      await storage.wblist.add({
        account: '@.',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['192.0.2.66'],
      }),
    ).toEqual(['192.0.2.66']);
    expect(await storage.wblist.list({ account: '@.', direction: 'inbound' })).toEqual([
      { address: '192.0.2.66', addressPriority: 10, list: 'whitelist', wb: 'W' },
    ]);
  });

  it("adds only the columns iRedAPD's own upgrades added to an older iredapd database", async () => {
    const current = await shapes(await create());
    const storage = await create({ migrate: false });
    await createIredmailTables(storage, false);
    expect(await storage.checkSchema()).toEqual({
      ok: false,
      missing: [
        'iredapd.throttle.max_rcpts',
        'iredapd.throttle_tracking.last_notify_time',
        ...IREDAPD_EXTENSION_COLUMNS.map(({ table, column }) => `iredapd.${table}.${column.name}`),
      ].sort(),
    });
    const amavisdBefore = (await shapes(storage)).get('amavisd.users');
    await storage.migrate();
    expect(await storage.checkSchema()).toEqual({ ok: true, missing: [] });
    const after = await shapes(storage);
    for (const spec of DATABASE_TABLES.iredapd) {
      expect(after.get(`iredapd.${spec.name}`), spec.name).toEqual(current.get(`iredapd.${spec.name}`));
    }
    expect(after.get('amavisd.users')).toEqual(amavisdBefore);
  });

  it('creates only the missing tables of a partly present database', async () => {
    const storage = await create({ migrate: false });
    const { knex } = storage.databases.vmail;
    // A vmail database with a hand-made domain table (extra column, no indexes) and no alias_domain.
    await knex.raw(
      `CREATE TABLE ${DOMAIN.name} (domain VARCHAR(255) NOT NULL PRIMARY KEY, backupmx INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1, note VARCHAR(20))`,
    );
    const before = await tableShape(knex, backend.dialect, DOMAIN.name);
    expect((await storage.checkSchema()).missing).toContain('vmail.alias_domain');
    await storage.migrate();
    expect(await tableShape(knex, backend.dialect, DOMAIN.name)).toEqual(before);
    expect(await knex.schema.hasTable(ALIAS_DOMAIN.name)).toBe(true);
    expect(await storage.checkSchema()).toEqual({ ok: true, missing: [] });
  });

  it('keeps the three databases apart when they are separate (as iRedMail does)', async () => {
    const storage = await create({ layout: 'separate' });
    expect(new Set(Object.values(storage.names)).size).toBe(3);
    const has = (database: LogicalDatabase, table: string) =>
      storage.databases[database].knex.schema.hasTable(table);
    expect(await has('vmail', DOMAIN.name)).toBe(true);
    expect(await has('vmail', USERS.name)).toBe(false);
    expect(await has('amavisd', USERS.name)).toBe(true);
    expect(await has('amavisd', DOMAIN.name)).toBe(false);
    expect(await has('iredapd', 'greylisting')).toBe(true);
    expect(await has('iredapd', USERS.name)).toBe(false);
    await storage.seedDomains({ domains: [{ domain: 'example.com' }] });
    await storage.wblist.add({
      account: '@example.com',
      direction: 'inbound',
      list: 'blacklist',
      addresses: ['@spam.test'],
    });
    expect((await storage.domains.lookupDomains(['example.com'])).get('example.com')?.local).toBe(true);
    expect(await storage.wblist.findAccounts(['@example.com'])).toEqual([
      { account: '@example.com', priority: 5 },
    ]);
  });
});
