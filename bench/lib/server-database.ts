/** Connections to the MariaDB and PostgreSQL servers the bench scripts create their scratch databases on. */

import type { Knex } from 'knex';

/** Host, port and credentials of a server, without a database. */
export interface ServerConnection {
  /** Host name or address. */
  readonly host: string;
  /** TCP port (the client's default when the URL has none). */
  readonly port: number;
  /** User, when the URL has one. */
  readonly user?: string;
  /** Password, when the URL has one. */
  readonly password?: string;
}

/**
 * The connection settings in a server URL such as `mysql://root@127.0.0.1:3306/test`.
 *
 * @param client - `mysql` (MariaDB) or `pg` (PostgreSQL), for the default port.
 * @param url - The server URL.
 */
export function serverConnection(client: 'mysql' | 'pg', url: URL): ServerConnection {
  return {
    host: url.hostname,
    port: Number(url.port || (client === 'mysql' ? 3306 : 5432)),
    ...(url.username === '' ? {} : { user: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
  };
}

/**
 * A one-connection knex on the URL's database (`test` when it names none), to create and drop scratch databases
 * with; it gives up connecting after 3 s, so an unreachable server is skipped quickly.
 *
 * @param client - `mysql` (MariaDB) or `pg` (PostgreSQL).
 * @param url - The server URL.
 * @returns The knex instance; `destroy()` it when done.
 */
export async function adminKnex(client: 'mysql' | 'pg', url: URL): Promise<Knex> {
  const { default: knex } = await import('knex');
  return knex({
    client: client === 'mysql' ? 'mysql2' : 'pg',
    connection: { ...serverConnection(client, url), database: url.pathname.slice(1) || 'test' },
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 3_000,
  });
}
