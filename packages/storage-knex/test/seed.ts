/**
 * Raw rows for the conformance suites' `seed`: inserted verbatim with knex (not through the store API), as
 * an existing iRedMail database may hold them. "Insert or replace", like the memory stores' `seed`.
 */

import type { DomainSeed, WblistSeed } from '@policyd/core';
import type { SqlDatabase } from '../src/sql.ts';
import { binaryValue } from '../src/sql.ts';
import { ALIAS_DOMAIN, DOMAIN, MAILADDR, OUTBOUND_WBLIST, USERS, WBLIST } from '../src/tables.ts';

/** Amavisd's column default for `users.priority` and `mailaddr.priority`. */
const DEFAULT_PRIORITY = 7;

/** Insert or replace `vmail.domain` and `vmail.alias_domain` rows. */
export async function seedDomains(db: SqlDatabase, seed: DomainSeed): Promise<void> {
  const { knex } = db;
  for (const row of seed.domains ?? []) {
    await knex(DOMAIN.name)
      .insert({
        [DOMAIN.col.domain]: row.domain,
        [DOMAIN.col.active]: row.active === false ? 0 : 1,
        [DOMAIN.col.backupmx]: row.backupMx === true ? 1 : 0,
      })
      .onConflict(DOMAIN.col.domain)
      .merge();
  }
  for (const row of seed.aliasDomains ?? []) {
    await knex(ALIAS_DOMAIN.name)
      .insert({
        [ALIAS_DOMAIN.col.aliasDomain]: row.aliasDomain,
        [ALIAS_DOMAIN.col.targetDomain]: row.targetDomain,
        [ALIAS_DOMAIN.col.active]: row.active === false ? 0 : 1,
      })
      .onConflict(ALIAS_DOMAIN.col.aliasDomain)
      .merge();
  }
}

async function idOf(
  db: SqlDatabase,
  table: string,
  email: string,
  priority: number,
  replace: boolean,
): Promise<number> {
  const insert = db
    .knex(table)
    .insert({ [USERS.col.email]: binaryValue(email), [USERS.col.priority]: priority })
    .onConflict(USERS.col.email);
  await (replace ? insert.merge() : insert.ignore());
  const rows = (await db.knex(table).select(USERS.col.id).where(USERS.col.email, binaryValue(email))) as {
    id: unknown;
  }[];
  return Number(rows[0]?.id);
}

/** Insert or replace `amavisd.users`, `mailaddr`, `wblist` and `outbound_wblist` rows. */
export async function seedWblist(db: SqlDatabase, seed: WblistSeed): Promise<void> {
  for (const { account, priority } of seed.accounts ?? [])
    await idOf(db, USERS.name, account, priority, true);
  for (const { address, priority } of seed.addresses ?? [])
    await idOf(db, MAILADDR.name, address, priority, true);
  for (const entry of seed.entries ?? []) {
    const user = await idOf(db, USERS.name, entry.account, DEFAULT_PRIORITY, false);
    const address = await idOf(db, MAILADDR.name, entry.address, DEFAULT_PRIORITY, false);
    const row =
      entry.direction === 'inbound'
        ? { [WBLIST.col.rid]: user, [WBLIST.col.sid]: address, [WBLIST.col.wb]: entry.wb }
        : {
            [OUTBOUND_WBLIST.col.rid]: address,
            [OUTBOUND_WBLIST.col.sid]: user,
            [OUTBOUND_WBLIST.col.wb]: entry.wb,
          };
    await db
      .knex(entry.direction === 'inbound' ? WBLIST.name : OUTBOUND_WBLIST.name)
      .insert(row)
      .onConflict([WBLIST.col.rid, WBLIST.col.sid])
      .merge();
  }
}
