/**
 * {@link GreylistStore} on iRedAPD's `iredapd` tables: `greylisting` (settings), `greylisting_whitelists`
 * (manual whitelists), `greylisting_whitelist_domains` and `greylisting_whitelist_domain_spf` (whitelist domains
 * and their generated networks), `greylisting_tracking` (one row per triplet).
 *
 * Decision path, in round trips (statements that wait on the database one after the other):
 * - `loadContext`: 1 (one `UNION ALL`, compiled once per shape; see `greylist-context.ts`), also when it reads
 *   the triplet's tracking row;
 * - `refreshPassed`: 1 (one `UPDATE`);
 * - `recordAttempt` (see `greylist-attempt.ts`): PostgreSQL 1 in every case; MySQL/MariaDB and SQLite 1 for a
 *   first attempt, 3 for a retry (insert ignored, read, guarded update), 4 when it passes (plus the delete of
 *   the client's pending rows);
 * - `recordFirstAttempts`, off the request path (see `greylist-first-attempts.ts`): 1 multi-row `INSERT` for up
 *   to 500 first attempts; more run in one transaction, one `INSERT` per 500.
 *
 * Admin changes that touch several rows (`removeWhitelistDomain`, `replaceDomainNetworks`) run in one
 * transaction; the others are single statements. Cleanup deletes `record_expired < now` rows by id in bounded
 * batches (`batched-cleanup.ts`).
 */

import type {
  GreylistSetting,
  GreylistStore,
  GreylistTripletState,
  GreylistWhitelistEntry,
  GreylistWhitelistSource,
} from '@policyd/core';
import {
  fromUnixSeconds,
  GENERATED_WHITELIST_ACCOUNT,
  generatedWhitelistComment,
  parseDomainNetworks,
  parseGreylistAccount,
  parseGreylistPair,
  parseWhitelistDomain,
  toUnixSeconds,
} from '@policyd/core';
import { deleteExpiredInBatches } from './batched-cleanup.ts';
import { createGeneratedWhitelistCache, type GeneratedWhitelistCache } from './generated-whitelist-cache.ts';
import { recordGreylistAttempt } from './greylist-attempt.ts';
import { bySettingOrder, loadGreylistContext } from './greylist-context.ts';
import { recordGreylistFirstAttempts } from './greylist-first-attempts.ts';
import { insertIgnoringDuplicates } from './insert-ignore.ts';
import { affectedRows, chunks, inTransaction, intOf, type SqlDatabase, textOf } from './sql.ts';
import { createStatementCache } from './statement-cache.ts';
import { withStoreErrors } from './store-error.ts';
import {
  GREYLISTING,
  GREYLISTING_TRACKING,
  GREYLISTING_WHITELIST_DOMAIN_SPF,
  GREYLISTING_WHITELIST_DOMAINS,
  GREYLISTING_WHITELISTS,
} from './tables.ts';
import { byText } from './text-order.ts';

type Row = Readonly<Record<string, unknown>>;

const G = GREYLISTING.col;
const T = GREYLISTING_TRACKING.col;
const W = GREYLISTING_WHITELISTS.col;
const D = GREYLISTING_WHITELIST_DOMAINS.col;

/** The whitelist tables, manual first (the order `listWhitelists` returns them in). */
const WHITELIST_TABLES: readonly (readonly [GreylistWhitelistSource, string])[] = [
  ['manual', GREYLISTING_WHITELISTS.name],
  ['spf', GREYLISTING_WHITELIST_DOMAIN_SPF.name],
];

function settingOf(row: Row): GreylistSetting {
  return {
    account: textOf(row[G.account]),
    priority: intOf(row[G.priority]),
    sender: textOf(row[G.sender]),
    senderPriority: intOf(row[G.senderPriority]),
    active: intOf(row[G.active]) === 1,
    comment: textOf(row[G.comment]),
  };
}

function tripletOf(row: Row): GreylistTripletState {
  return {
    sender: textOf(row[T.sender]),
    senderDomain: textOf(row[T.senderDomain]),
    recipient: textOf(row[T.recipient]),
    recipientDomain: textOf(row[T.rcptDomain]),
    clientKey: textOf(row[T.clientAddress]),
    firstSeenAt: fromUnixSeconds(intOf(row[T.initTime])),
    blockExpiresAt: fromUnixSeconds(intOf(row[T.blockExpired])),
    recordExpiresAt: fromUnixSeconds(intOf(row[T.recordExpired])),
    blockedCount: intOf(row[T.blockedCount]),
    passed: intOf(row[T.passed]) === 1,
  };
}

/** Options of {@link createKnexGreylistStore}. */
export interface KnexGreylistStoreOptions {
  /**
   * Keep `greylisting_whitelist_domain_spf` in memory and reload it in the background once it is this many
   * milliseconds old (see `generated-whitelist-cache.ts`). Default 0: every `loadContext` reads the table.
   */
  readonly spfWhitelistCacheTtlMs?: number;
}

/**
 * Create the greylisting store on the `iredapd` database.
 *
 * @example
 * ```ts
 * const greylist = createKnexGreylistStore({ knex, dialect: 'mysql' });
 * await greylist.setSetting({ account: '@.', sender: '@.', active: true }); // enable greylisting globally
 * ```
 */
export function createKnexGreylistStore(
  db: SqlDatabase,
  options: KnexGreylistStoreOptions = {},
): GreylistStore {
  const { knex, dialect } = db;
  const statements = createStatementCache(knex, dialect);
  const ttl = options.spfWhitelistCacheTtlMs ?? 0;
  const generated: GeneratedWhitelistCache | undefined =
    ttl > 0
      ? createGeneratedWhitelistCache({
          ttlMs: ttl,
          load: async () => {
            const rows = (await knex(GREYLISTING_WHITELIST_DOMAIN_SPF.name).select(
              W.account,
              W.sender,
            )) as Row[];
            return rows.map((row) => ({ account: textOf(row[W.account]), sender: textOf(row[W.sender]) }));
          },
        })
      : undefined;

  /** Delete the rows generated for a whitelist domain, in both whitelist tables (iRedAPD bug B23). */
  async function deleteGenerated(trx: typeof knex, domain: string): Promise<number> {
    const comment = generatedWhitelistComment(domain);
    let deleted = 0;
    for (const [, table] of WHITELIST_TABLES) {
      deleted += affectedRows(await trx(table).where(W.comment, comment).delete());
    }
    return deleted;
  }

  return {
    loadContext: (query) =>
      withStoreErrors('greylist.loadContext', async () =>
        loadGreylistContext(db, statements, query, await generated?.get()),
      ),

    refreshPassed: (clientKey, recordExpiresAt) =>
      withStoreErrors('greylist.refreshPassed', async () => {
        const expires = toUnixSeconds(recordExpiresAt, 'recordExpiresAt');
        return affectedRows(
          await knex(GREYLISTING_TRACKING.name)
            .update(T.recordExpired, expires)
            .where(T.clientAddress, String(clientKey))
            .andWhere(T.passed, 1),
        );
      }),

    recordAttempt: (triplet, times) =>
      withStoreErrors('greylist.recordAttempt', () => recordGreylistAttempt(db, statements, triplet, times)),

    recordFirstAttempts: (attempts) =>
      withStoreErrors('greylist.recordFirstAttempts', () =>
        recordGreylistFirstAttempts(db, statements, attempts),
      ),

    findTriplets: (clientKey) =>
      withStoreErrors('greylist.findTriplets', async () => {
        const key = String(clientKey);
        const rows = (await knex(GREYLISTING_TRACKING.name).where(T.clientAddress, key)) as Row[];
        return rows
          .map(tripletOf)
          .filter((triplet) => triplet.clientKey === key)
          .sort((a, b) => byText(a.sender, b.sender) || byText(a.recipient, b.recipient));
      }),

    cleanup: (options) =>
      withStoreErrors('greylist.cleanup', () =>
        deleteExpiredInBatches(
          db,
          {
            table: GREYLISTING_TRACKING.name,
            id: T.id,
            expired: (query, now) => query.where(T.recordExpired, '<', now),
          },
          options,
        ),
      ),

    listSettings: (filter = {}) =>
      withStoreErrors('greylist.listSettings', async () => {
        const account = filter.account === undefined ? undefined : parseGreylistAccount(filter.account);
        const query = knex(GREYLISTING.name).select(
          G.account,
          G.priority,
          G.sender,
          G.senderPriority,
          G.active,
          G.comment,
        );
        if (account !== undefined) query.where(G.account, account);
        const rows = ((await query) as Row[]).map(settingOf);
        return rows.filter((s) => account === undefined || s.account === account).sort(bySettingOrder);
      }),

    setSetting: (input) =>
      withStoreErrors('greylist.setSetting', async () => {
        const pair = parseGreylistPair(input);
        const setting: GreylistSetting = {
          account: pair.account,
          priority: pair.priority,
          sender: pair.sender,
          senderPriority: pair.senderPriority,
          active: input.active === true,
          comment: input.comment === undefined ? '' : String(input.comment),
        };
        // Insert or replace on the (account, sender) unique key, which every iRedAPD schema has.
        await knex(GREYLISTING.name)
          .insert({
            [G.account]: setting.account,
            [G.priority]: setting.priority,
            [G.sender]: setting.sender,
            [G.senderPriority]: setting.senderPriority,
            [G.comment]: setting.comment,
            [G.active]: setting.active ? 1 : 0,
          })
          .onConflict([G.account, G.sender])
          .merge();
        return setting;
      }),

    deleteSetting: (input) =>
      withStoreErrors('greylist.deleteSetting', async () => {
        const pair = parseGreylistPair(input);
        const deleted = await knex(GREYLISTING.name)
          .where(G.account, pair.account)
          .andWhere(G.sender, pair.sender)
          .delete();
        return affectedRows(deleted) > 0;
      }),

    addWhitelist: (input) =>
      withStoreErrors('greylist.addWhitelist', async () => {
        const pair = parseGreylistPair(input);
        const comment = input.comment === undefined ? '' : String(input.comment);
        const inserted = await insertIgnoringDuplicates(
          knex,
          dialect,
          GREYLISTING_WHITELISTS.name,
          [W.account, W.sender, W.comment],
          [[pair.account, pair.sender, comment]],
        );
        return inserted > 0;
      }),

    removeWhitelist: (input) =>
      withStoreErrors('greylist.removeWhitelist', async () => {
        const pair = parseGreylistPair(input);
        const deleted = await knex(GREYLISTING_WHITELISTS.name)
          .where(W.account, pair.account)
          .andWhere(W.sender, pair.sender)
          .delete();
        return affectedRows(deleted) > 0;
      }),

    listWhitelists: (filter = {}) =>
      withStoreErrors('greylist.listWhitelists', async () => {
        const account = filter.account === undefined ? undefined : parseGreylistAccount(filter.account);
        const result: GreylistWhitelistEntry[] = [];
        for (const [source, table] of WHITELIST_TABLES) {
          if (filter.source !== undefined && filter.source !== source) continue;
          const query = knex(table).select(W.account, W.sender, W.comment);
          if (account !== undefined) query.where(W.account, account);
          const entries = ((await query) as Row[])
            .map((row) => ({
              account: textOf(row[W.account]),
              sender: textOf(row[W.sender]),
              comment: textOf(row[W.comment]),
              source,
            }))
            .filter((entry) => account === undefined || entry.account === account)
            .sort((a, b) => byText(a.account, b.account) || byText(a.sender, b.sender));
          result.push(...entries);
        }
        return result;
      }),

    addWhitelistDomain: (domain) =>
      withStoreErrors('greylist.addWhitelistDomain', async () => {
        const value = parseWhitelistDomain(domain);
        const inserted = await insertIgnoringDuplicates(
          knex,
          dialect,
          GREYLISTING_WHITELIST_DOMAINS.name,
          [D.domain],
          [[value]],
        );
        return inserted > 0;
      }),

    removeWhitelistDomain: (domain) =>
      withStoreErrors('greylist.removeWhitelistDomain', async () => {
        const value = parseWhitelistDomain(domain);
        const lock = { table: GREYLISTING_WHITELIST_DOMAINS.name, column: D.domain };
        return inTransaction(db, lock, async (trx) => {
          const removed = affectedRows(
            await trx(GREYLISTING_WHITELIST_DOMAINS.name).where(D.domain, value).delete(),
          );
          return { removed: removed > 0, networksRemoved: await deleteGenerated(trx, value) };
        }).finally(() => generated?.invalidate());
      }),

    listWhitelistDomains: () =>
      withStoreErrors('greylist.listWhitelistDomains', async () => {
        const rows = (await knex(GREYLISTING_WHITELIST_DOMAINS.name).select(D.domain)) as Row[];
        return rows.map((row) => textOf(row[D.domain])).sort(byText);
      }),

    replaceDomainNetworks: (domain, networks) =>
      withStoreErrors('greylist.replaceDomainNetworks', async () => {
        const value = parseWhitelistDomain(domain);
        const values = parseDomainNetworks(networks);
        const comment = generatedWhitelistComment(value);
        const lock = { table: GREYLISTING_WHITELIST_DOMAIN_SPF.name, column: W.comment };
        return inTransaction(db, lock, async (trx) => {
          const deleted = await deleteGenerated(trx, value);
          // A value another domain already generated keeps its row (the unique key skips it), as iRedAPD.
          const inserted = await insertIgnoringDuplicates(
            trx,
            dialect,
            GREYLISTING_WHITELIST_DOMAIN_SPF.name,
            [W.account, W.sender, W.comment],
            values.map((sender) => [GENERATED_WHITELIST_ACCOUNT, sender, comment]),
          );
          let trackingDeleted = 0;
          for (const part of chunks(values)) {
            trackingDeleted += affectedRows(
              await trx(GREYLISTING_TRACKING.name).whereIn(T.clientAddress, part).delete(),
            );
          }
          return { deleted, inserted, trackingDeleted };
        }).finally(() => generated?.invalidate());
      }),
  };
}
