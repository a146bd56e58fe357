/**
 * The test harness for everything that talks SQL: `describeEachBackend(title, (backend) => …)` registers a
 * block per backend:
 *
 * - `sqlite`: always (temporary files, removed afterwards);
 * - `mariadb`: the server at `POLICYD_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`);
 * - `postgres`: the server at `POLICYD_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
 *
 * The URL's user must be allowed to create and drop databases; its database is only used to connect. Each
 * block creates uniquely named databases (`policyd_t<pid>_<random>_<iredapd|amavisd|vmail>`) and drops them
 * after its last test. A server that does not answer within 3 s skips its block, with the reason in the
 * block's title and a console warning; set a URL to `off` to skip on purpose. Under `CI=true` a skipped
 * server block fails instead (one failing test naming the reason).
 *
 * `backend.createStorage()` gives a migrated storage on clean databases. Migrated databases are reused
 * between tests (emptied first), so a test costs a few `DELETE`s, not a `CREATE DATABASE`.
 *
 * Other packages import it relatively: `import { describeEachBackend } from '../../storage-knex/test/backends.ts'`.
 */

import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainSeed, WblistSeed } from '@policyd/core';
import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, it } from 'vitest';
import type { Dialect } from '../src/dialect.ts';
import { DATABASE_TABLES, type LogicalDatabase } from '../src/migrations.ts';
import { openStorage, type ServerDatabaseConfig } from '../src/open-storage.ts';
import { quoteIdentifier } from '../src/schema/spec.ts';
import type { SqlDatabase } from '../src/sql.ts';
import { type KnexStorage, knexStorage } from '../src/storage.ts';
import { seedDomains, seedWblist } from './seed.ts';

/** The backends the harness knows. */
export type BackendName = 'sqlite' | 'mariadb' | 'postgres';

/** How the three logical databases are laid out. */
export type DatabaseLayout = 'shared' | 'separate';

/** Options of {@link TestBackend.createStorage}. */
export interface CreateStorageOptions {
  /**
   * `separate`: three databases (iRedMail's layout; default on the servers); `shared`: one database (or one
   * SQLite file) for all three (default on SQLite).
   */
  readonly layout?: DatabaseLayout;
  /**
   * Run the migrations (default true). With `false` the databases are brand new and empty (never reused),
   * e.g. to create iRedMail's tables by hand first.
   */
  readonly migrate?: boolean;
  /** Passed to the storage. */
  readonly domainCacheTtlMs?: number;
  /** Passed to the storage. */
  readonly spfWhitelistCacheTtlMs?: number;
}

/** A storage under test, with raw access and seeding. */
export interface TestStorage extends KnexStorage {
  /** The backend it runs on. */
  readonly backend: TestBackend;
  /** The names of its databases (SQLite: file names). */
  readonly names: Readonly<Record<LogicalDatabase, string>>;
  /** Insert raw `vmail` rows. */
  seedDomains(seed: DomainSeed): Promise<void>;
  /** Insert raw `amavisd` rows. */
  seedWblist(seed: WblistSeed): Promise<void>;
  /** Another storage on the same databases with its own pools (a second daemon); destroyed with this one. */
  connectAgain(): Promise<KnexStorage>;
  /** Close its connections and release (or drop) its databases. */
  destroy(): Promise<void>;
}

/** One backend inside a {@link describeEachBackend} block. */
export interface TestBackend {
  /** `sqlite`, `mariadb` or `postgres`. */
  readonly name: BackendName;
  /** The SQL dialect. */
  readonly dialect: Dialect;
  /** A storage on clean databases (see {@link CreateStorageOptions}). */
  createStorage(options?: CreateStorageOptions): Promise<TestStorage>;
  /**
   * Connection settings of one of this block's databases, for tests that build their own knex or
   * `openStorage` config (servers only; SQLite: the file name as `database`).
   */
  settingsFor(database: string): ServerDatabaseConfig;
}

interface ServerInfo {
  readonly name: 'mariadb' | 'postgres';
  readonly dialect: 'mysql' | 'pg';
  readonly env: string;
  readonly url: string;
  readonly settings: ServerDatabaseConfig;
  /** Why it cannot be used, or undefined when it answered. */
  readonly unavailable: string | undefined;
}

const PROBE_TIMEOUT_MS = 3000;

/** knex's own console warnings are noise here: failures reach the tests as errors. */
const QUIET: Knex.Logger = { warn() {}, error() {}, deprecate() {}, debug() {} };

function serverSettings(url: URL, defaultPort: number): ServerDatabaseConfig {
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port === '' ? defaultPort : Number(url.port),
    ...(url.username === '' ? {} : { user: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'test',
  };
}

function adminKnex(server: Pick<ServerInfo, 'dialect' | 'settings'>, timeoutMs: number): Knex {
  const { settings } = server;
  return server.dialect === 'mysql'
    ? knexFactory({
        client: 'mysql2',
        connection: { ...settings, connectTimeout: timeoutMs },
        pool: { min: 0, max: 2 },
        acquireConnectionTimeout: timeoutMs,
        log: QUIET,
      })
    : knexFactory({
        client: 'pg',
        connection: { ...settings, connectionTimeoutMillis: timeoutMs },
        pool: { min: 0, max: 2 },
        acquireConnectionTimeout: timeoutMs,
        log: QUIET,
      });
}

async function probe(name: ServerInfo['name'], env: string, fallback: string): Promise<ServerInfo> {
  const dialect = name === 'mariadb' ? 'mysql' : 'pg';
  const url = process.env[env] ?? fallback;
  if (url === 'off') {
    return { name, dialect, env, url, settings: { database: '' }, unavailable: `${env}=off` };
  }
  let settings: ServerDatabaseConfig;
  try {
    settings = serverSettings(new URL(url), dialect === 'mysql' ? 3306 : 5432);
  } catch (err) {
    return { name, dialect, env, url, settings: { database: '' }, unavailable: `bad ${env}: ${String(err)}` };
  }
  const admin = adminKnex({ dialect, settings }, PROBE_TIMEOUT_MS);
  try {
    await admin.raw('select 1');
    return { name, dialect, env, url, settings, unavailable: undefined };
  } catch (err) {
    return {
      name,
      dialect,
      env,
      url,
      settings,
      unavailable: `not reachable at ${url} (${err instanceof Error ? err.message : String(err)})`,
    };
  } finally {
    await admin.destroy();
  }
}

// Probed once per test file (module evaluation), both servers at once.
const SERVERS: readonly ServerInfo[] = await Promise.all([
  probe('mariadb', 'POLICYD_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/test'),
  probe('postgres', 'POLICYD_TEST_PG_URL', 'postgres://postgres@127.0.0.1:5432/test'),
]);

const inCi = (): boolean => {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
};

const uniqueName = (): string => `policyd_t${process.pid}_${randomBytes(4).toString('hex')}`;

const LOGICAL: readonly LogicalDatabase[] = ['iredapd', 'amavisd', 'vmail'];

/** Delete every row of every policyd table (children first), keeping the schema. */
async function emptyTables(knex: Knex, databases: readonly LogicalDatabase[]): Promise<void> {
  for (const database of databases) {
    for (const spec of [...DATABASE_TABLES[database]].reverse()) await knex(spec.name).delete();
  }
}

function sqliteKnex(filename: string): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    log: QUIET,
    pool: {
      afterCreate(
        connection: { pragma(source: string): unknown },
        done: (err: Error | null, c: unknown) => void,
      ) {
        connection.pragma('journal_mode = WAL');
        connection.pragma('synchronous = NORMAL');
        connection.pragma('busy_timeout = 5000');
        connection.pragma('foreign_keys = ON');
        done(null, connection);
      },
    },
  });
}

interface DatabaseSet {
  readonly layout: DatabaseLayout;
  readonly names: Readonly<Record<LogicalDatabase, string>>;
}

/** The backend of one block: database bookkeeping lives in this closure, per block. */
function makeBackend(
  name: BackendName,
  server: ServerInfo | undefined,
): TestBackend & { cleanup(): Promise<void> } {
  const dialect: Dialect = server?.dialect ?? 'sqlite';
  const created: DatabaseSet[] = [];
  const free: DatabaseSet[] = [];
  let admin: Knex | undefined;

  const adminOf = (): Knex => {
    if (server === undefined) throw new Error('no admin connection on sqlite');
    admin ??= adminKnex(server, 10_000);
    return admin;
  };

  async function createSet(layout: DatabaseLayout): Promise<DatabaseSet> {
    const base = uniqueName();
    const names =
      layout === 'shared'
        ? { iredapd: base, amavisd: base, vmail: base }
        : { iredapd: `${base}_iredapd`, amavisd: `${base}_amavisd`, vmail: `${base}_vmail` };
    if (server === undefined) {
      const file = (n: string) => join(tmpdir(), `${n}.sqlite`);
      const set = {
        layout,
        names: { iredapd: file(names.iredapd), amavisd: file(names.amavisd), vmail: file(names.vmail) },
      };
      created.push(set);
      return set;
    }
    for (const database of new Set(Object.values(names))) {
      const q = quoteIdentifier(server.dialect, database);
      await adminOf().raw(
        server.dialect === 'mysql'
          ? `CREATE DATABASE ${q} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`
          : `CREATE DATABASE ${q}`,
      );
    }
    const set = { layout, names };
    created.push(set);
    return set;
  }

  async function dropSet(set: DatabaseSet): Promise<void> {
    for (const database of new Set(Object.values(set.names))) {
      if (server === undefined) {
        for (const suffix of ['', '-wal', '-shm']) await rm(`${database}${suffix}`, { force: true });
      } else if (server.dialect === 'mysql') {
        await adminOf().raw(`DROP DATABASE IF EXISTS ${quoteIdentifier('mysql', database)}`);
      } else {
        await adminOf().raw(`DROP DATABASE IF EXISTS ${quoteIdentifier('pg', database)} WITH (FORCE)`);
      }
    }
  }

  function settingsFor(database: string): ServerDatabaseConfig {
    return server === undefined ? { database } : { ...server.settings, database };
  }

  async function open(set: DatabaseSet, options: CreateStorageOptions): Promise<KnexStorage> {
    const cache = {
      ...(options.domainCacheTtlMs === undefined ? {} : { domainCacheTtlMs: options.domainCacheTtlMs }),
      ...(options.spfWhitelistCacheTtlMs === undefined
        ? {}
        : { spfWhitelistCacheTtlMs: options.spfWhitelistCacheTtlMs }),
    };
    if (server === undefined) {
      if (set.layout === 'shared') {
        return openStorage({ client: 'sqlite', filename: set.names.iredapd, migrate: false, ...cache });
      }
      return knexStorage({
        iredapd: sqliteKnex(set.names.iredapd),
        amavisd: sqliteKnex(set.names.amavisd),
        vmail: sqliteKnex(set.names.vmail),
        destroyOnClose: true,
        ...cache,
      });
    }
    return openStorage({
      client: server.dialect,
      iredapd: settingsFor(set.names.iredapd),
      amavisd: settingsFor(set.names.amavisd),
      vmail: settingsFor(set.names.vmail),
      pool: { max: 10 },
      migrate: false,
      ...cache,
    });
  }

  const backend: TestBackend & { cleanup(): Promise<void> } = {
    name,
    dialect,
    settingsFor,
    async createStorage(options = {}) {
      const layout = options.layout ?? (server === undefined ? 'shared' : 'separate');
      const migrate = options.migrate !== false;
      const reusable = migrate ? free.findIndex((set) => set.layout === layout) : -1;
      const set = reusable >= 0 ? free.splice(reusable, 1)[0]! : await createSet(layout);
      const storage = await open(set, options);
      const others: KnexStorage[] = [];
      try {
        if (migrate && reusable < 0) await storage.migrate();
        if (reusable >= 0) {
          for (const knex of new Set(LOGICAL.map((d) => storage.databases[d].knex))) {
            await emptyTables(
              knex,
              LOGICAL.filter((d) => storage.databases[d].knex === knex),
            );
          }
        }
      } catch (err) {
        await storage.close();
        throw err;
      }
      const db = (database: LogicalDatabase): SqlDatabase => storage.databases[database];
      let destroyed = false;
      return {
        ...storage,
        backend,
        names: set.names,
        seedDomains: (seed) => seedDomains(db('vmail'), seed),
        seedWblist: (seed) => seedWblist(db('amavisd'), seed),
        async connectAgain() {
          const other = await open(set, options);
          others.push(other);
          return other;
        },
        async destroy() {
          if (destroyed) return;
          destroyed = true;
          await Promise.all([storage.close(), ...others.map((other) => other.close())]);
          if (migrate) free.push(set);
          else {
            created.splice(created.indexOf(set), 1);
            await dropSet(set);
          }
        },
      };
    },
    async cleanup() {
      try {
        for (const set of created.splice(0)) await dropSet(set);
      } finally {
        await admin?.destroy();
      }
    },
  };
  return backend;
}

/** Options of {@link describeEachBackend}. */
export interface DescribeEachBackendOptions {
  /** Run only on these backends. */
  readonly only?: readonly BackendName[];
}

/**
 * Register `fn`'s tests once per backend, in a `describe` titled `<title> [<backend>]`. Databases created
 * through `backend.createStorage()` are dropped after the block's last test; storages still open then are
 * not closed for you: destroy them in `afterEach` (or use the conformance harness, which does).
 *
 * @example
 * ```ts
 * describeEachBackend('wblist store', (backend) => {
 *   it('finds a blacklisted IP', async () => {
 *     const storage = await backend.createStorage();
 *     try { … } finally { await storage.destroy(); }
 *   });
 * });
 * ```
 */
export function describeEachBackend(
  title: string,
  fn: (backend: TestBackend) => void,
  options: DescribeEachBackendOptions = {},
): void {
  const wanted = (name: BackendName) => options.only === undefined || options.only.includes(name);
  if (wanted('sqlite')) {
    describe(`${title} [sqlite]`, () => {
      const backend = makeBackend('sqlite', undefined);
      afterAll(() => backend.cleanup());
      fn(backend);
    });
  }
  for (const server of SERVERS) {
    if (!wanted(server.name)) continue;
    const label = `${title} [${server.name}]`;
    if (server.unavailable === undefined) {
      describe(label, () => {
        const backend = makeBackend(server.name, server);
        afterAll(() => backend.cleanup());
        fn(backend);
      });
    } else if (inCi()) {
      describe(label, () => {
        it(`needs a reachable ${server.name} server under CI (${server.env})`, () => {
          throw new Error(`${server.name} ${server.unavailable}; CI=true requires every backend`);
        });
      });
    } else {
      const reason = `${server.name} ${server.unavailable}; set ${server.env} to test it`;
      console.warn(`[storage-knex harness] skipping "${label}": ${reason}`);
      describe.skip(`${label} — skipped: ${reason}`, () => fn(makeBackend(server.name, server)));
    }
  }
}
