/**
 * `@policyd/storage-knex`: policyd's stores on SQL through knex, using iRedAPD's and iRedMail's own tables,
 * so that an existing iRedMail installation (MySQL/MariaDB or PostgreSQL) works unchanged, and SQLite
 * (better-sqlite3) serves as the embedded default.
 *
 * @example
 * ```ts
 * import { openStorage } from '@policyd/storage-knex';
 *
 * const storage = await openStorage({ client: 'sqlite', filename: './policyd.sqlite' }); // tables created
 * await storage.wblist.add({ account: '@.', direction: 'inbound', list: 'blacklist', addresses: ['192.0.2.66'] });
 * const { inbound } = await storage.wblist.lookup({ inbound: { accounts: ['@.'], senders: ['192.0.2.66'] } });
 * await storage.close();
 * ```
 *
 * @packageDocumentation
 */

export type { Dialect } from './dialect.ts';
export { dialectOf } from './dialect.ts';
export type { DomainCacheOptions } from './domain-cache.ts';
export { cacheDomainStore } from './domain-cache.ts';
export { createKnexDomainStore } from './domain-store.ts';
export type { KnexGreylistStoreOptions } from './greylist-store.ts';
export { createKnexGreylistStore } from './greylist-store.ts';
export type { KnexMaintenance, MaintainedTable, SenderscoreCleanupOptions } from './maintenance.ts';
export { createKnexMaintenance, MAINTAINED_TABLES } from './maintenance.ts';
export type { LogicalDatabase } from './migrations.ts';
export type {
  PoolConfig,
  ServerDatabaseConfig,
  ServerStorageConfig,
  SqliteStorageConfig,
  StorageConfig,
} from './open-storage.ts';
export { openStorage } from './open-storage.ts';
export { createKnexSmtpSessionLog } from './smtp-session-store.ts';
export type { SqlDatabase } from './sql.ts';
export type { KnexStorage, KnexStorageOptions, SchemaCheck } from './storage.ts';
export { knexStorage } from './storage.ts';
export { createKnexThrottleStore } from './throttle-store.ts';
export { createKnexWblistStore } from './wblist-store.ts';
