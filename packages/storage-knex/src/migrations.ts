/**
 * Schema migrations, shipped inside the package as a knex `MigrationSource` (no migration files on disk),
 * one list per logical database. Their record is the table `policyd_migrations` (and knex's
 * `policyd_migrations_lock`) in each database, so they never mix with an application's own migrations.
 *
 * What they change, and nothing more:
 * - `<db>/0001-create-tables`: creates each of the database's tables **that does not exist yet**, with
 *   iRedAPD's/iRedMail's columns, types, defaults, keys and indexes. An existing table is left exactly as it
 *   is (no column, type or index is altered), whatever it looks like.
 * - `iredapd/0002-add-upgrade-columns`: adds `throttle.max_rcpts` and `throttle_tracking.last_notify_time`
 *   when an existing table lacks them (what iRedAPD's own upgrade scripts 5.0 and 2.3 add).
 * - `iredapd/extension-<table>.<column>`: adds each of policyd's own extra columns
 *   (`IREDAPD_EXTENSION_COLUMNS`, nullable or defaulted, ignored by iRedAPD) when missing.
 *
 * They run only when `migrate()` is called (`openStorage` calls it for SQLite unless told not to).
 */

import type { Knex } from 'knex';
import { dialectOf } from './dialect.ts';
import { AMAVISD_TABLES } from './schema/amavisd.ts';
import {
  IREDAPD_EXTENSION_COLUMNS,
  IREDAPD_TABLES,
  THROTTLE_MAX_RCPTS,
  THROTTLE_TRACKING_LAST_NOTIFY_TIME,
} from './schema/iredapd.ts';
import {
  type ColumnSpec,
  columnDefinition,
  createTableStatements,
  quoteIdentifier,
  type TableSpec,
} from './schema/spec.ts';
import { VMAIL_TABLES } from './schema/vmail.ts';
import { MIGRATIONS_TABLE, THROTTLE, THROTTLE_TRACKING } from './tables.ts';

/** iRedMail's three databases. */
export type LogicalDatabase = 'iredapd' | 'amavisd' | 'vmail';

/** The tables of each logical database, in creation order. */
export const DATABASE_TABLES: Readonly<Record<LogicalDatabase, readonly TableSpec[]>> = {
  iredapd: IREDAPD_TABLES,
  amavisd: AMAVISD_TABLES,
  vmail: VMAIL_TABLES,
};

interface NamedMigration {
  readonly name: string;
  readonly up: (knex: Knex) => Promise<void>;
}

async function createMissingTables(knex: Knex, tables: readonly TableSpec[]): Promise<void> {
  const dialect = dialectOf(knex);
  for (const spec of tables) {
    if (await knex.schema.hasTable(spec.name)) continue;
    for (const statement of createTableStatements(dialect, spec)) await knex.raw(statement);
  }
}

async function addMissingColumn(knex: Knex, table: string, column: ColumnSpec): Promise<void> {
  if (!(await knex.schema.hasTable(table)) || (await knex.schema.hasColumn(table, column.name))) return;
  const dialect = dialectOf(knex);
  await knex.raw(
    `ALTER TABLE ${quoteIdentifier(dialect, table)} ADD COLUMN ${columnDefinition(dialect, column)}`,
  );
}

function migrationsOf(database: LogicalDatabase): NamedMigration[] {
  const list: NamedMigration[] = [
    {
      name: `${database}/0001-create-tables`,
      up: (knex) => createMissingTables(knex, DATABASE_TABLES[database]),
    },
  ];
  if (database === 'iredapd') {
    list.push({
      name: 'iredapd/0002-add-upgrade-columns',
      up: async (knex) => {
        await addMissingColumn(knex, THROTTLE.name, THROTTLE_MAX_RCPTS);
        await addMissingColumn(knex, THROTTLE_TRACKING.name, THROTTLE_TRACKING_LAST_NOTIFY_TIME);
      },
    });
    for (const { table, column } of IREDAPD_EXTENSION_COLUMNS) {
      list.push({
        name: `iredapd/extension-${table}.${column.name}`,
        up: (knex) => addMissingColumn(knex, table, column),
      });
    }
  }
  return list;
}

/** The knex `MigrationSource` of one logical database. */
export function migrationSource(database: LogicalDatabase): Knex.MigrationSource<NamedMigration> {
  const list = migrationsOf(database);
  return {
    getMigrations: async () => list,
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => ({
      up: migration.up,
      // Rolling back would mean dropping tables that may hold an iRedMail installation's data: refuse.
      down: async () => {
        throw new Error(
          `${migration.name} cannot be rolled back: policyd never drops iRedAPD/iRedMail tables`,
        );
      },
    }),
  };
}

/**
 * Run the pending migrations of one logical database on `knex`. Several logical databases may share one knex
 * instance (SQLite, or one server database for all): their migrations have distinct names in the same
 * `policyd_migrations` table, and list validation is off so that each database's list may be run alone.
 */
export async function migrateDatabase(knex: Knex, database: LogicalDatabase): Promise<void> {
  await knex.migrate.latest({
    migrationSource: migrationSource(database),
    tableName: MIGRATIONS_TABLE,
    disableMigrationsListValidation: true,
  });
}

/** What {@link checkDatabaseSchema} found missing: `table` or `table.column` names. */
export async function checkDatabaseSchema(knex: Knex, database: LogicalDatabase): Promise<string[]> {
  const missing: string[] = [];
  for (const spec of DATABASE_TABLES[database]) {
    if (!(await knex.schema.hasTable(spec.name))) {
      missing.push(`${database}.${spec.name}`);
      continue;
    }
    const info = await knex(spec.name).columnInfo();
    for (const column of spec.columns) {
      if (!(column.name in info)) missing.push(`${database}.${spec.name}.${column.name}`);
    }
  }
  return missing;
}
