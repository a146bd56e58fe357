/**
 * From the daemon's backend configuration to `openStorage()`'s, keeping iRedAPD's rule that a database with
 * an empty credential is disabled rather than an error.
 */

import type { ServerDatabaseConfig, StorageConfig } from '@policyd/storage-knex';
import type { BackendConfig, SqlDatabaseConfig, SqlPoolConfig } from './settings/daemon-config.ts';

/** iRedAPD's three databases. */
export type DatabaseName = 'vmail' | 'amavisd' | 'iredapd';

/** How to open the storage. */
export interface StoragePlan {
  /** The argument of `openStorage()`; `undefined` when every database is disabled. */
  readonly open: StorageConfig | undefined;
  /**
   * Databases the settings disable. `openStorage()` points them at another database, so their stores must not
   * be used: the plugins that need them answer DUNNO, as in iRedAPD.
   */
  readonly disabled: ReadonlySet<DatabaseName>;
}

// SQLAlchemy's pool_size 0 and max_overflow -1 mean "no limit"; a pool needs one.
const UNBOUNDED_POOL = 100;
const DEFAULT_IDLE_MS = 30_000;

function server(db: SqlDatabaseConfig): ServerDatabaseConfig {
  return Object.freeze({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    // iRedAPD connects with TLS without verifying the server's certificate (ssl_verify_cert=False).
    ...(db.ssl ? { ssl: Object.freeze({ rejectUnauthorized: false }) } : {}),
  });
}

function poolOf(pool: SqlPoolConfig): { readonly max: number; readonly idleTimeoutMs: number } {
  const max =
    pool.size === 0 || pool.maxOverflow === -1 ? UNBOUNDED_POOL : Math.max(1, pool.size + pool.maxOverflow);
  return Object.freeze({
    max,
    idleTimeoutMs: pool.recycleSeconds > 0 ? pool.recycleSeconds * 1000 : DEFAULT_IDLE_MS,
  });
}

/**
 * The `openStorage()` configuration for a backend: SQLite with its schema created on first start, or
 * MySQL/PostgreSQL databases used as they are.
 *
 * @example
 * ```ts
 * const plan = storagePlan(config.storage);
 * const storage = plan.open === undefined ? undefined : await openStorage(plan.open);
 * ```
 */
export function storagePlan(backend: BackendConfig): StoragePlan {
  if (backend.backend === 'sqlite') {
    return Object.freeze({
      open: Object.freeze({ client: 'sqlite', filename: backend.path }),
      disabled: new Set<DatabaseName>(),
    });
  }
  const databases: Readonly<Record<DatabaseName, SqlDatabaseConfig | undefined>> = {
    iredapd: backend.iredapd,
    amavisd: backend.amavisd,
    vmail: backend.vmail,
  };
  const disabled = new Set<DatabaseName>(
    (Object.keys(databases) as DatabaseName[]).filter((name) => databases[name] === undefined),
  );
  const first = backend.iredapd ?? backend.amavisd ?? backend.vmail;
  if (first === undefined) return Object.freeze({ open: undefined, disabled });
  const open: StorageConfig = Object.freeze({
    client: backend.backend === 'pgsql' ? 'pg' : 'mysql',
    iredapd: server(first),
    ...(backend.amavisd === undefined ? {} : { amavisd: server(backend.amavisd) }),
    ...(backend.vmail === undefined ? {} : { vmail: server(backend.vmail) }),
    pool: poolOf(backend.pool),
  });
  return Object.freeze({ open, disabled });
}
