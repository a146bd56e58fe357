/**
 * `openStorage`: knex instances made from plain settings, for the three supported backends, with pool sizes
 * and timeouts that make an unreachable database fail fast.
 */

import { type Logger, PolicydError, silentLogger } from '@policyd/core';
import knexFactory, { type Knex } from 'knex';
import { type KnexStorage, knexStorage } from './storage.ts';

/** The embedded backend: one SQLite file (better-sqlite3) for all three databases. */
export interface SqliteStorageConfig {
  /** `sqlite`. */
  readonly client: 'sqlite';
  /** Database file (created when missing), or `:memory:`. */
  readonly filename: string;
  /** Create the schema on start (default true: a new file gets its tables on first start). */
  readonly migrate?: boolean;
  /** How long a writer waits for another process's lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite's page cache, in KiB (`PRAGMA cache_size = -N`; default 2000, SQLite's own default). It is native
   * memory the daemon holds for as long as it runs, up to this size once the file is larger; a bigger cache
   * saves reads of pages the operating system has cached anyway.
   */
  readonly cacheSizeKib?: number;
  /** See {@link KnexStorageOptions.domainCacheTtlMs}. */
  readonly domainCacheTtlMs?: number;
  /** See {@link KnexStorageOptions.spfWhitelistCacheTtlMs}. */
  readonly spfWhitelistCacheTtlMs?: number;
  /** Where knex's own warnings go (connection errors, deprecations); default: discarded. */
  readonly logger?: Logger;
}

/** Where one server database is. */
export interface ServerDatabaseConfig {
  /** Host name or IP (default `127.0.0.1`). */
  readonly host?: string;
  /** Port (default 3306 or 5432). */
  readonly port?: number;
  /** Unix socket path instead of host/port (MySQL `socketPath`, PostgreSQL socket directory as `host`). */
  readonly socketPath?: string;
  /** User name. */
  readonly user?: string;
  /** Password. */
  readonly password?: string;
  /** Database name (iRedMail: `iredapd`, `amavisd`, `vmail`). */
  readonly database: string;
  /** TLS: `true`, or the driver's TLS options object. */
  readonly ssl?: boolean | Readonly<Record<string, unknown>>;
}

/** Pool settings, per database. */
export interface PoolConfig {
  /** Connections kept open when idle (default 0). */
  readonly min?: number;
  /** Connections at most (default 10, as iRedAPD's `SQL_CONNECTION_POOL_SIZE`). */
  readonly max?: number;
  /** Close a connection idle for this long, in ms (default 30 000). */
  readonly idleTimeoutMs?: number;
}

/** MySQL/MariaDB (mysql2) or PostgreSQL (pg), one database per logical database as iRedMail has them. */
export interface ServerStorageConfig {
  /** `mysql` (MySQL or MariaDB, through mysql2) or `pg` (PostgreSQL). */
  readonly client: 'mysql' | 'pg';
  /** The `iredapd` database. */
  readonly iredapd: ServerDatabaseConfig;
  /** The `amavisd` database; default: the `iredapd` one. */
  readonly amavisd?: ServerDatabaseConfig;
  /** The `vmail` database; default: the `amavisd` one. */
  readonly vmail?: ServerDatabaseConfig;
  /** Pool per database. */
  readonly pool?: PoolConfig;
  /**
   * Bound on connecting and on waiting for a pooled connection, in ms (default 5000). A call against an
   * unreachable server fails with `POLICYD_ERR_STORE` within about this time.
   */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL only: cancel a statement running longer than this, in ms (default: no limit). */
  readonly statementTimeoutMs?: number;
  /** Run `migrate()` on start (default false: an existing iRedMail database is used as it is). */
  readonly migrate?: boolean;
  /** See {@link KnexStorageOptions.domainCacheTtlMs}. */
  readonly domainCacheTtlMs?: number;
  /** See {@link KnexStorageOptions.spfWhitelistCacheTtlMs}. */
  readonly spfWhitelistCacheTtlMs?: number;
  /** Where knex's own warnings go (connection errors, deprecations); default: discarded. */
  readonly logger?: Logger;
}

/** Settings for {@link openStorage}. */
export type StorageConfig = SqliteStorageConfig | ServerStorageConfig;

/** knex's `log` option, routed to a policyd logger. Failures reach callers as POLICYD_ERR_STORE anyway. */
function knexLog(logger: Logger = silentLogger): Knex.Logger {
  const fields = { component: 'storage-knex' };
  return {
    warn: (message: unknown) => logger.warn(fields, String(message)),
    error: (message: unknown) => logger.error(fields, String(message)),
    deprecate: (method: unknown, alternative: unknown) =>
      logger.warn(fields, `knex: ${String(method)} is deprecated, use ${String(alternative)}`),
    debug: (message: unknown) => logger.debug(fields, String(message)),
  };
}

function invalid(message: string, value: unknown): PolicydError {
  return new PolicydError('POLICYD_ERR_INVALID_OPTION', message, { value });
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`${name} must be an integer ≥ 0, got ${value}`, value);
  return value;
}

/** SQLite's page cache per connection, in KiB: SQLite's own default, not better-sqlite3's 16 000. */
const SQLITE_CACHE_SIZE_KIB = 2000;

function sqliteKnex(config: SqliteStorageConfig): Knex {
  if (typeof config.filename !== 'string' || config.filename === '') {
    throw invalid('sqlite: filename is required', config.filename);
  }
  const busyTimeout = positive('busyTimeoutMs', config.busyTimeoutMs, 5000);
  const cacheSizeKib = positive('cacheSizeKib', config.cacheSizeKib, SQLITE_CACHE_SIZE_KIB);
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: config.filename },
    useNullAsDefault: true,
    log: knexLog(config.logger),
    pool: {
      // One connection (knex's default for SQLite, stated here because memory depends on it): better-sqlite3
      // runs every statement synchronously on the main thread, so a second connection would add no
      // concurrency, only a second page cache and set of prepared statements.
      min: 1,
      max: 1,
      afterCreate(
        connection: { pragma(source: string): unknown },
        done: (err: Error | null, c: unknown) => void,
      ) {
        try {
          // WAL lets readers run while a writer commits; synchronous=NORMAL (safe in WAL mode: a power loss may
          // drop the last commits, never corrupts) saves an fsync per commit; busy_timeout makes writers of other
          // processes wait; foreign keys as on the servers (throttle_tracking.tid → throttle.id).
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          connection.pragma(`busy_timeout = ${busyTimeout}`);
          connection.pragma('foreign_keys = ON');
          // better-sqlite3 builds SQLite with a 16 MB page cache, which SQLite keeps filled for the connection's
          // life once the file is larger (the bench's is 18–21 MB): the main thread's malloc heap held 22–27 MB
          // at peak in bench/daemon.ts, 10–13 MB with 2 MB, at the same requests per second; the pages it
          // no longer caches are read from the OS's file cache (docs/performance.md, "Daemon memory").
          connection.pragma(`cache_size = -${cacheSizeKib}`);
          done(null, connection);
        } catch (err) {
          done(err as Error, connection);
        }
      },
    },
  });
}

/** Prepared statements kept per MySQL connection (least recently used closed first). */
const MYSQL_PREPARED_STATEMENTS = 128;

function serverKnex(config: ServerStorageConfig, database: ServerDatabaseConfig): Knex {
  if (typeof database?.database !== 'string' || database.database === '') {
    throw invalid(`${config.client}: every database needs a database name`, database);
  }
  const timeout = positive('connectTimeoutMs', config.connectTimeoutMs, 5000);
  const pool = {
    min: positive('pool.min', config.pool?.min, 0),
    max: Math.max(1, positive('pool.max', config.pool?.max, 10)),
    idleTimeoutMillis: positive('pool.idleTimeoutMs', config.pool?.idleTimeoutMs, 30_000),
  };
  const common = {
    database: database.database,
    ...(database.user === undefined ? {} : { user: database.user }),
    ...(database.password === undefined ? {} : { password: database.password }),
    ...(database.ssl === undefined || database.ssl === false
      ? {}
      : { ssl: database.ssl === true ? {} : { ...database.ssl } }),
  };
  if (config.client === 'mysql') {
    return knexFactory({
      client: 'mysql2',
      connection: {
        ...common,
        ...(database.socketPath === undefined
          ? { host: database.host ?? '127.0.0.1', port: database.port ?? 3306 }
          : { socketPath: database.socketPath }),
        charset: 'utf8mb4',
        connectTimeout: timeout,
        enableKeepAlive: true,
        // The statement cache prepares a few dozen shapes per connection; mysql2's default (16 000) sizes its
        // per-connection cache arrays up front, about 0.5 MB of heap per pooled connection.
        maxPreparedStatements: MYSQL_PREPARED_STATEMENTS,
      },
      pool,
      acquireConnectionTimeout: timeout,
      log: knexLog(config.logger),
    });
  }
  if (config.client !== 'pg') throw invalid(`client must be 'sqlite', 'mysql' or 'pg'`, config.client);
  const statementTimeout = positive('statementTimeoutMs', config.statementTimeoutMs, 0);
  return knexFactory({
    client: 'pg',
    connection: {
      ...common,
      host: database.socketPath ?? database.host ?? '127.0.0.1',
      port: database.port ?? 5432,
      connectionTimeoutMillis: timeout,
      keepAlive: true,
      ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
    },
    pool,
    acquireConnectionTimeout: timeout,
    log: knexLog(config.logger),
  });
}

/**
 * Open the storage from settings: SQLite (one file, schema created on first start) or MySQL/MariaDB or
 * PostgreSQL (one database per logical database, used as they are unless `migrate: true`).
 *
 * @example
 * ```ts
 * const storage = await openStorage({ client: 'sqlite', filename: '/var/lib/policyd/policyd.sqlite' });
 * // or, on an existing iRedMail server:
 * const storage = await openStorage({
 *   client: 'mysql',
 *   iredapd: { user: 'iredapd', password: '…', database: 'iredapd' },
 *   amavisd: { user: 'amavisd', password: '…', database: 'amavisd' },
 *   vmail: { user: 'vmail', password: '…', database: 'vmail' },
 * });
 * ```
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for bad settings, `POLICYD_ERR_STORE` when migrating fails
 */
export async function openStorage(config: StorageConfig): Promise<KnexStorage> {
  const cache = {
    ...(config.domainCacheTtlMs === undefined ? {} : { domainCacheTtlMs: config.domainCacheTtlMs }),
    ...(config.spfWhitelistCacheTtlMs === undefined
      ? {}
      : { spfWhitelistCacheTtlMs: config.spfWhitelistCacheTtlMs }),
  };
  if (config.client === 'sqlite') {
    const knex = sqliteKnex(config);
    const storage = knexStorage({ iredapd: knex, destroyOnClose: true, ...cache });
    if (config.migrate !== false) await migrateOrClose(storage);
    return storage;
  }
  if (config.client !== 'mysql' && config.client !== 'pg') {
    throw invalid(
      `client must be 'sqlite', 'mysql' or 'pg', got ${String((config as { client?: unknown }).client)}`,
      config,
    );
  }
  const iredapdConfig = config.iredapd;
  const amavisdConfig = config.amavisd ?? iredapdConfig;
  const vmailConfig = config.vmail ?? amavisdConfig;
  // One pool per distinct database setting.
  const pools = new Map<string, Knex>();
  const pool = (database: ServerDatabaseConfig) => {
    const key = JSON.stringify(database);
    let knex = pools.get(key);
    if (knex === undefined) {
      knex = serverKnex(config, database);
      pools.set(key, knex);
    }
    return knex;
  };
  const iredapd = pool(iredapdConfig);
  const amavisd = pool(amavisdConfig);
  const vmail = pool(vmailConfig);
  const storage = knexStorage({ iredapd, amavisd, vmail, destroyOnClose: true, ...cache });
  if (config.migrate === true) await migrateOrClose(storage);
  return storage;
}

async function migrateOrClose(storage: KnexStorage): Promise<void> {
  try {
    await storage.migrate();
  } catch (err) {
    await storage.close();
    throw err;
  }
}
