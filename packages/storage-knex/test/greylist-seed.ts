/**
 * Raw `iredapd` greylisting rows for the conformance suite's `seed`: inserted verbatim with knex (not through
 * the store API), as an existing iRedMail database may hold them. "Insert or replace", like the memory store.
 */

import type { GreylistSeed } from '@policyd/core';
import type { SqlDatabase } from '../src/sql.ts';
import { GREYLISTING, GREYLISTING_WHITELIST_DOMAIN_SPF, GREYLISTING_WHITELISTS } from '../src/tables.ts';

/** Insert or replace `greylisting`, `greylisting_whitelists` (`manual`) and `…_domain_spf` (`spf`) rows. */
export async function seedGreylist(db: SqlDatabase, seed: GreylistSeed): Promise<void> {
  const { knex } = db;
  const G = GREYLISTING.col;
  for (const row of seed.settings ?? []) {
    await knex(GREYLISTING.name)
      .insert({
        [G.account]: row.account,
        [G.priority]: row.priority,
        [G.sender]: row.sender,
        [G.senderPriority]: row.senderPriority,
        [G.comment]: row.comment ?? '',
        [G.active]: row.active,
      })
      .onConflict([G.account, G.sender])
      .merge();
  }
  for (const row of seed.whitelists ?? []) {
    const table = row.source === 'manual' ? GREYLISTING_WHITELISTS : GREYLISTING_WHITELIST_DOMAIN_SPF;
    await knex(table.name)
      .insert({
        [table.col.account]: row.account,
        [table.col.sender]: row.sender,
        [table.col.comment]: row.comment ?? '',
      })
      .onConflict([table.col.account, table.col.sender])
      .merge();
  }
}
