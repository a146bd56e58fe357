/**
 * The three SQL dialects the stores speak, and how to tell which one a knex instance uses. Queries are
 * written once with knex; the few places where the dialects differ (binary comparisons, row locks, upserts)
 * branch on {@link Dialect}.
 */

import { PolicydError } from '@policyd/core';
import type { Knex } from 'knex';

/** `sqlite` (better-sqlite3 or sqlite3), `mysql` (MySQL/MariaDB through mysql2 or mysql), `pg` (PostgreSQL). */
export type Dialect = 'sqlite' | 'mysql' | 'pg';

const CLIENTS: Readonly<Record<string, Dialect>> = {
  'better-sqlite3': 'sqlite',
  sqlite3: 'sqlite',
  sqlite: 'sqlite',
  mysql: 'mysql',
  mysql2: 'mysql',
  pg: 'pg',
  postgres: 'pg',
  postgresql: 'pg',
};

/**
 * The dialect of a knex instance, from its `client` setting.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a client the stores do not support
 */
export function dialectOf(knex: Knex): Dialect {
  const config = knex.client.config as { client?: unknown };
  const client = config.client;
  const name =
    typeof client === 'string'
      ? client
      : typeof client === 'function'
        ? String((client.prototype as { dialect?: unknown }).dialect ?? '')
        : String((knex.client as { dialect?: unknown }).dialect ?? '');
  const dialect = CLIENTS[name];
  if (dialect === undefined) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `Unsupported knex client ${JSON.stringify(name)}: use better-sqlite3, mysql2 or pg`,
      { value: name },
    );
  }
  return dialect;
}
