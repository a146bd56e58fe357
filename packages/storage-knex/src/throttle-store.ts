/**
 * {@link ThrottleStore} on iRedAPD's `iredapd.throttle` (settings) and `iredapd.throttle_tracking` (counters).
 *
 * Decision path, in round trips:
 * - `findSettings`: 1, for any number of queries (one `SELECT … WHERE (kind = ? AND account IN (…)) OR …`);
 * - `consume`: 1 transaction under per-counter locks, for a typical message 5 statements on PostgreSQL
 *   (`BEGIN`, advisory lock, read settings and counters, write, `COMMIT`), 6 on MySQL (`GET_LOCK` before,
 *   `RELEASE_LOCK` after), 4 on SQLite plus its in-process no-op write; see `throttle-consume.ts`.
 *
 * Admin: settings are created or updated in a transaction that finds the (account, kind) row under a lock
 * (PostgreSQL has no unique key there, so it also takes a `SHARE ROW EXCLUSIVE` table lock, which blocks other
 * writers of `throttle` for that moment but not `consume`); deleting a setting locks it first, then deletes its
 * counters and the row (the foreign key on `throttle_tracking.tid` keeps a concurrent `consume` from adding a
 * counter to it). Cleanup deletes finished windows
 * (`init_time + period < now`) by id in bounded batches.
 */

import type {
  ThrottleCounter,
  ThrottleCounterFilter,
  ThrottleKind,
  ThrottleSetting,
  ThrottleStore,
} from '@policyd/core';
import {
  checkCounterFilter,
  fromUnixSeconds,
  parseAccount,
  parseThrottleKind,
  resolveThrottleSetting,
} from '@policyd/core';
import { deleteExpiredInBatches } from './batched-cleanup.ts';
import { affectedRows, chunks, forUpdate, inTransaction, intOf, type SqlDatabase, textOf } from './sql.ts';
import { withStoreErrors } from './store-error.ts';
import { THROTTLE, THROTTLE_TRACKING } from './tables.ts';
import { byText } from './text-order.ts';
import { consumeThrottle, storedCounterOf } from './throttle-consume.ts';

type Row = Readonly<Record<string, unknown>>;

const T = THROTTLE.col;
const TT = THROTTLE_TRACKING.col;

const SETTING_COLUMNS = [
  T.id,
  T.account,
  T.kind,
  T.priority,
  T.period,
  T.msgSize,
  T.maxMsgs,
  T.maxQuota,
  T.maxRcpts,
];

function settingOf(row: Row): ThrottleSetting {
  return {
    id: intOf(row[T.id]),
    account: textOf(row[T.account]),
    kind: textOf(row[T.kind]) as ThrottleKind,
    priority: intOf(row[T.priority]),
    periodSeconds: intOf(row[T.period]),
    maxMessageSizeBytes: intOf(row[T.msgSize]),
    maxMessages: intOf(row[T.maxMsgs]),
    maxQuotaBytes: intOf(row[T.maxQuota]),
    maxRecipients: intOf(row[T.maxRcpts]),
  };
}

function counterOf(row: Row): ThrottleCounter {
  const stored = storedCounterOf(row);
  const counter: ThrottleCounter = {
    settingId: intOf(row[TT.tid]),
    trackingAccount: textOf(row[TT.account]),
    periodSeconds: intOf(row[TT.period]),
    messages: stored.messages,
    bytes: stored.bytes,
    windowStartAt: fromUnixSeconds(stored.windowStart),
    lastNotifiedAt: fromUnixSeconds(stored.lastNotified),
    lastUpdatedAt: fromUnixSeconds(intOf(row[TT.lastTime])),
  };
  if (stored.previousMessages === undefined) return counter;
  return { ...counter, previousMessages: stored.previousMessages, previousBytes: stored.previousBytes ?? 0 };
}

/** Settings order of `findSettings`: priority desc, account, id. */
const byPrecedence = (a: ThrottleSetting, b: ThrottleSetting): number =>
  b.priority - a.priority || byText(a.account, b.account) || a.id - b.id;

/**
 * Create the throttle store on the `iredapd` database.
 *
 * @example
 * ```ts
 * const throttle = createKnexThrottleStore({ knex, dialect: 'pg' });
 * await throttle.setSetting({ account: '@example.com', kind: 'outbound', periodSeconds: 3600, maxMessages: 100 });
 * ```
 */
export function createKnexThrottleStore(db: SqlDatabase): ThrottleStore {
  const { knex, dialect } = db;
  let slidingColumns = false;

  /** Whether `throttle_tracking` has the sliding-window columns; asked once, remembered once true. */
  async function hasSlidingColumns(): Promise<boolean> {
    if (!slidingColumns) {
      const info = await knex(THROTTLE_TRACKING.name).columnInfo();
      slidingColumns = TT.prevMsgs in info && TT.prevQuota in info;
    }
    return slidingColumns;
  }

  /** Counters matching the filter exactly (MySQL compares `VARCHAR` without case; the contract is exact). */
  async function matchingCounters(filter: ThrottleCounterFilter): Promise<Row[]> {
    checkCounterFilter(filter);
    const select = knex(THROTTLE_TRACKING.name);
    if (filter.settingId !== undefined) select.where(TT.tid, filter.settingId);
    if (filter.trackingAccount !== undefined) select.where(TT.account, filter.trackingAccount);
    return ((await select.orderBy(TT.id)) as Row[]).filter(
      (row) => filter.trackingAccount === undefined || textOf(row[TT.account]) === filter.trackingAccount,
    );
  }

  return {
    findSettings: (queries) =>
      withStoreErrors('throttle.findSettings', async () => {
        const parsed = queries.map((query) => ({
          kind: parseThrottleKind(query.kind),
          accounts: new Set(query.accounts.map(String)),
        }));
        const asked = parsed.filter((query) => query.accounts.size > 0);
        if (asked.length === 0) return parsed.map(() => []);
        const rows = (
          (await knex(THROTTLE.name)
            .select(SETTING_COLUMNS)
            .where((any) => {
              for (const query of asked) {
                any.orWhere((one) => one.where(T.kind, query.kind).whereIn(T.account, [...query.accounts]));
              }
            })) as Row[]
        ).map(settingOf);
        return parsed.map((query) =>
          rows
            .filter((setting) => setting.kind === query.kind && query.accounts.has(setting.account))
            .sort(byPrecedence),
        );
      }),

    consume: (charges, now) =>
      withStoreErrors('throttle.consume', () => consumeThrottle(db, charges, now, hasSlidingColumns)),

    listSettings: (filter = {}) =>
      withStoreErrors('throttle.listSettings', async () => {
        const account =
          filter.account === undefined ? undefined : parseAccount(String(filter.account)).account;
        const kind = filter.kind === undefined ? undefined : parseThrottleKind(filter.kind);
        const query = knex(THROTTLE.name).select(SETTING_COLUMNS);
        if (account !== undefined) query.where(T.account, account);
        if (kind !== undefined) query.where(T.kind, kind);
        return ((await query) as Row[])
          .map(settingOf)
          .filter(
            (s) =>
              (account === undefined || s.account === account) && (kind === undefined || s.kind === kind),
          )
          .sort((a, b) => byText(a.account, b.account) || byText(a.kind, b.kind) || a.id - b.id);
      }),

    setSetting: (input) =>
      withStoreErrors('throttle.setSetting', async () => {
        const resolved = resolveThrottleSetting(input);
        const values = {
          [T.account]: resolved.account,
          [T.kind]: resolved.kind,
          [T.priority]: resolved.priority,
          [T.period]: resolved.periodSeconds,
          [T.msgSize]: resolved.maxMessageSizeBytes,
          [T.maxMsgs]: resolved.maxMessages,
          [T.maxQuota]: resolved.maxQuotaBytes,
          [T.maxRcpts]: resolved.maxRecipients,
        };
        const id = await inTransaction(db, { table: THROTTLE.name, column: T.period }, async (trx) => {
          // No unique (account, kind) on PostgreSQL: keep a second writer from inserting the same row meanwhile.
          if (dialect === 'pg') await trx.raw('LOCK TABLE ?? IN SHARE ROW EXCLUSIVE MODE', [THROTTLE.name]);
          const found = (await forUpdate(
            db,
            trx(THROTTLE.name)
              .select(T.id)
              .where(T.account, resolved.account)
              .andWhere(T.kind, resolved.kind)
              .orderBy(T.id),
          )) as Row[];
          const first = found[0];
          if (first !== undefined) {
            await trx(THROTTLE.name)
              .update(values)
              .where(T.id, first[T.id] as never);
            return intOf(first[T.id]);
          }
          if (dialect === 'pg') {
            const [inserted] = (await trx(THROTTLE.name).insert(values).returning(T.id)) as Row[];
            return intOf(inserted?.[T.id]);
          }
          const [inserted] = (await trx(THROTTLE.name).insert(values)) as unknown[];
          return intOf(inserted);
        });
        return { id, ...resolved };
      }),

    deleteSetting: (accountValue, kindValue) =>
      withStoreErrors('throttle.deleteSetting', async () => {
        const account = parseAccount(String(accountValue)).account;
        const kind = parseThrottleKind(kindValue);
        return inTransaction(db, { table: THROTTLE.name, column: T.period }, async (trx) => {
          const found = (await forUpdate(
            db,
            trx(THROTTLE.name).select(T.id).where(T.account, account).andWhere(T.kind, kind).orderBy(T.id),
          )) as Row[];
          const ids = found.map((row) => intOf(row[T.id]));
          if (ids.length === 0) return false;
          // Counters first: throttle_tracking.tid references throttle.id.
          await trx(THROTTLE_TRACKING.name).whereIn(TT.tid, ids).delete();
          await trx(THROTTLE.name).whereIn(T.id, ids).delete();
          return true;
        });
      }),

    listCounters: (filter) =>
      withStoreErrors('throttle.listCounters', async () =>
        (await matchingCounters(filter))
          .map(counterOf)
          .sort((a, b) => a.settingId - b.settingId || byText(a.trackingAccount, b.trackingAccount)),
      ),

    resetCounters: (filter) =>
      withStoreErrors('throttle.resetCounters', async () => {
        const ids = (await matchingCounters(filter)).map((row) => row[TT.id]);
        let deleted = 0;
        for (const part of chunks(ids)) {
          deleted += affectedRows(
            await knex(THROTTLE_TRACKING.name)
              .whereIn(TT.id, part as never[])
              .delete(),
          );
        }
        return deleted;
      }),

    cleanup: (options) =>
      withStoreErrors('throttle.cleanup', () =>
        deleteExpiredInBatches(
          db,
          {
            table: THROTTLE_TRACKING.name,
            id: TT.id,
            expired: (query, now) => query.whereRaw('?? + ?? < ?', [TT.initTime, TT.period, now]),
          },
          options,
        ),
      ),
  };
}
