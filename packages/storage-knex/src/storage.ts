/**
 * `knexStorage`: every store on knex instances that the caller provides, one per logical database.
 */

import type { DomainStore, GreylistStore, SmtpSessionLog, ThrottleStore, WblistStore } from '@policyd/core';
import { PolicydError } from '@policyd/core';
import type { Knex } from 'knex';
import { dialectOf } from './dialect.ts';
import { cacheDomainStore } from './domain-cache.ts';
import { createKnexDomainStore } from './domain-store.ts';
import { createKnexGreylistStore } from './greylist-store.ts';
import { checkDatabaseSchema, type LogicalDatabase, migrateDatabase } from './migrations.ts';
import { createKnexSmtpSessionLog } from './smtp-session-store.ts';
import type { SqlDatabase } from './sql.ts';
import { storeError } from './store-error.ts';
import { createKnexThrottleStore } from './throttle-store.ts';
import { createKnexWblistStore } from './wblist-store.ts';

/** Options of {@link knexStorage}. */
export interface KnexStorageOptions {
  /** The `iredapd` database (greylisting, throttle, smtp_sessions …). */
  readonly iredapd: Knex;
  /** The `amavisd` database (wblist); default: the `iredapd` instance. */
  readonly amavisd?: Knex;
  /** The `vmail` database (domains, read-only); default: the `amavisd` instance. */
  readonly vmail?: Knex;
  /**
   * Reuse `lookupDomains` answers for this many milliseconds (shared by every plugin). Default 0: no cache,
   * every call reads `vmail`. A few seconds is safe: hosted domains rarely change.
   */
  readonly domainCacheTtlMs?: number;
  /**
   * Keep greylisting's generated whitelist networks (`greylisting_whitelist_domain_spf`, rewritten by the
   * daily whitelist-domain refresh) in memory, reloaded in the background once they are this many milliseconds
   * old; the store's own `replaceDomainNetworks`/`removeWhitelistDomain` drop the copy at once. Default 0: every
   * greylisting context reads the table (one index look-up per recipient form and candidate network).
   */
  readonly spfWhitelistCacheTtlMs?: number;
  /**
   * `close()` destroys the knex instances (their pools). Default false: the caller owns them.
   * `openStorage` sets it.
   */
  readonly destroyOnClose?: boolean;
}

/** What {@link KnexStorage.checkSchema} reports. */
export interface SchemaCheck {
  /** True when nothing is missing. */
  readonly ok: boolean;
  /**
   * Missing tables (`iredapd.throttle`) and columns (`iredapd.throttle.max_rcpts`), sorted; `migrate()` adds
   * them.
   */
  readonly missing: readonly string[];
}

/** Every store on SQL, plus schema and lifecycle operations. */
export interface KnexStorage {
  /** Hosted and alias domains (`vmail`). */
  readonly domains: DomainStore;
  /** White/blacklists (`amavisd`). */
  readonly wblist: WblistStore;
  /** Greylisting settings, whitelists and triplet tracking (`iredapd.greylisting*`). */
  readonly greylist: GreylistStore;
  /** Throttle settings and counters (`iredapd.throttle`, `throttle_tracking`). */
  readonly throttle: ThrottleStore;
  /** The SQL request log (`iredapd.smtp_sessions`). */
  readonly smtpSessions: SmtpSessionLog;
  /** The database handles, for code that needs raw access (e.g. the SQL request log). */
  readonly databases: Readonly<Record<LogicalDatabase, SqlDatabase>>;
  /**
   * Create the tables that do not exist yet in each database, and add the columns iRedAPD's own upgrades
   * added (`throttle.max_rcpts`, `throttle_tracking.last_notify_time`) where they are missing. Existing
   * tables are otherwise never altered. Idempotent; records its work in `policyd_migrations`.
   *
   * @throws PolicydError `POLICYD_ERR_STORE` when a database fails
   */
  migrate(): Promise<void>;
  /**
   * Which of the tables and columns the migrations would create are missing, without changing anything.
   *
   * @throws PolicydError `POLICYD_ERR_STORE` when a database fails
   */
  checkSchema(): Promise<SchemaCheck>;
  /** Release the connections when the storage owns them (`destroyOnClose`); idempotent. */
  close(): Promise<void>;
}

const DATABASES: readonly LogicalDatabase[] = ['iredapd', 'amavisd', 'vmail'];

/** A cache time option: a finite number ≥ 0 (0 = off). */
function nonNegative(name: string, value: number | undefined): number {
  const ttl = value ?? 0;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `${name} must be ≥ 0, got ${ttl}`, { value: ttl });
  }
  return ttl;
}

/**
 * The stores on knex: one instance per logical database, as iRedMail keeps `iredapd`, `amavisd` and `vmail`
 * apart, or the same instance for all (SQLite, or one server database).
 *
 * @example
 * ```ts
 * import knex from 'knex';
 * import { knexStorage } from '@policyd/storage-knex';
 *
 * const conn = (database: string) =>
 *   knex({ client: 'mysql2', connection: { host: '127.0.0.1', user: 'iredapd', password: '…', database } });
 * const storage = knexStorage({ iredapd: conn('iredapd'), amavisd: conn('amavisd'), vmail: conn('vmail') });
 * const { inbound } = await storage.wblist.lookup({ inbound: { accounts: ['@.'], senders: ['192.0.2.1'] } });
 * ```
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when a knex client is not better-sqlite3, mysql2 or pg
 */
export function knexStorage(options: KnexStorageOptions): KnexStorage {
  const amavisdKnex = options.amavisd ?? options.iredapd;
  const vmailKnex = options.vmail ?? amavisdKnex;
  const handle = (knex: Knex): SqlDatabase => ({ knex, dialect: dialectOf(knex) });
  const databases: Record<LogicalDatabase, SqlDatabase> = {
    iredapd: handle(options.iredapd),
    amavisd: handle(amavisdKnex),
    vmail: handle(vmailKnex),
  };
  const ttl = nonNegative('domainCacheTtlMs', options.domainCacheTtlMs);
  const spfWhitelistCacheTtlMs = nonNegative('spfWhitelistCacheTtlMs', options.spfWhitelistCacheTtlMs);
  const domainStore = createKnexDomainStore(databases.vmail);
  let closing: Promise<void> | undefined;

  return {
    domains: ttl > 0 ? cacheDomainStore(domainStore, { ttlMs: ttl }) : domainStore,
    wblist: createKnexWblistStore(databases.amavisd),
    greylist: createKnexGreylistStore(databases.iredapd, { spfWhitelistCacheTtlMs }),
    throttle: createKnexThrottleStore(databases.iredapd),
    smtpSessions: createKnexSmtpSessionLog(databases.iredapd),
    databases,
    async migrate() {
      for (const database of DATABASES) {
        try {
          await migrateDatabase(databases[database].knex, database);
        } catch (err) {
          throw storeError(`migrate(${database})`, err);
        }
      }
    },
    async checkSchema() {
      const missing: string[] = [];
      for (const database of DATABASES) {
        try {
          missing.push(...(await checkDatabaseSchema(databases[database].knex, database)));
        } catch (err) {
          throw storeError(`checkSchema(${database})`, err);
        }
      }
      return { ok: missing.length === 0, missing: missing.sort() };
    },
    close() {
      closing ??=
        options.destroyOnClose === true
          ? Promise.all([...new Set(DATABASES.map((d) => databases[d].knex))].map((k) => k.destroy())).then(
              () => undefined,
            )
          : Promise.resolve();
      return closing;
    },
  };
}
