/**
 * `ThrottleStore.consume` on `throttle` / `throttle_tracking`: check and count one message, all or nothing,
 * atomic across connections and processes.
 *
 * iRedMail's PostgreSQL schema has no unique key on `throttle_tracking (tid, account)` (MySQL's has), so a
 * counter cannot be created with an upsert everywhere. Instead every `consume` serialises on the settings it
 * charges: one transaction that
 *
 * 1. locks the charged `throttle` rows in id order (`SELECT … ORDER BY id FOR UPDATE` on PostgreSQL and MySQL;
 *    on SQLite the transaction starts with a write, which takes the database's write lock) — this also checks
 *    that the settings exist;
 * 2. reads the counters of the charged (setting, key) pairs (`FOR UPDATE` too, so MySQL reads the newest
 *    committed rows and PostgreSQL fails over to a retry instead of reading a stale snapshot under
 *    `REPEATABLE READ`);
 * 3. decides with core's shared window functions (`throttle-window.ts`), exactly as the memory store does;
 * 4. writes: one `UPDATE` per existing counter that changes, one multi-row `INSERT` for new ones.
 *
 * Statements: `BEGIN`, lock, read, the writes (usually 1), `COMMIT` — 5 for a typical admitted message with one
 * counter, 4 for a rejection that writes nothing (SQLite adds its no-op write, in-process). A deadlock or
 * serialization failure reruns the whole transaction (`inTransaction`).
 *
 * Sliding-window charges keep the previous window's counts in `throttle_tracking.prev_msgs` / `prev_quota`,
 * policyd's only addition to iRedAPD's tables (created by the migrations; NULL on counters written by fixed
 * charges and by iRedAPD itself).
 */

import type {
  ThrottleCharge,
  ThrottleChargeCounters,
  ThrottleConsumeResult,
  ThrottleRejection,
} from '@policyd/core';
import {
  checkThrottleCharges,
  countThrottleCharge,
  exceededThrottleLimit,
  PolicydError,
  type StoredThrottleCounter,
  storedThrottlePeriod,
  type ThrottleWindowState,
  throttleWindowOf,
  throttleWindowState,
  toUnixSeconds,
} from '@policyd/core';
import type { Knex } from 'knex';
import { affectedRows, forUpdate, inTransaction, intOf, type SqlDatabase, textOf } from './sql.ts';
import { THROTTLE, THROTTLE_TRACKING } from './tables.ts';

type Row = Readonly<Record<string, unknown>>;

const T = THROTTLE.col;
const TT = THROTTLE_TRACKING.col;

/** True for a charge counted with a sliding window. */
export const isSliding = (charge: Pick<ThrottleCharge, 'algorithm'>): boolean =>
  charge.algorithm === 'sliding';

/** A counter row as `throttleWindowState` wants it; the sliding columns only when the row has them set. */
export function storedCounterOf(row: Row): StoredThrottleCounter {
  const counter: StoredThrottleCounter = {
    messages: intOf(row[TT.curMsgs]),
    bytes: intOf(row[TT.curQuota]),
    windowStart: intOf(row[TT.initTime]),
    lastNotified: intOf(row[TT.lastNotifyTime]),
  };
  const previousMessages = row[TT.prevMsgs];
  const previousBytes = row[TT.prevQuota];
  if (previousMessages === null || previousMessages === undefined) return counter;
  return { ...counter, previousMessages: intOf(previousMessages), previousBytes: intOf(previousBytes) };
}

/**
 * The stored row of each charge: the one with exactly the charge's key, else (MySQL compares `VARCHAR` without
 * case, and its unique key does too) the one the database matched; the lowest id when PostgreSQL holds
 * duplicates (its schema has no unique key).
 */
function rowsOfCharges(charges: readonly ThrottleCharge[], rows: readonly Row[]): (Row | undefined)[] {
  const sorted = [...rows].sort((a, b) => intOf(a[TT.id]) - intOf(b[TT.id]));
  return charges.map((charge) => {
    const ofSetting = sorted.filter((row) => intOf(row[TT.tid]) === charge.settingId);
    return (
      ofSetting.find((row) => textOf(row[TT.account]) === charge.trackingAccount) ??
      ofSetting.find((row) => textOf(row[TT.account]).toLowerCase() === charge.trackingAccount.toLowerCase())
    );
  });
}

/**
 * The column values of a counter in `state` after a write at `now` (unix seconds). A sliding charge stores the
 * previous window; a fixed one clears it when the row has the columns (a new row gets their default, NULL), so
 * fixed charges work on iRedAPD's tables as they are.
 */
function counterValues(
  charge: ThrottleCharge,
  row: Row | undefined,
  now: number,
  state: ThrottleWindowState,
): Record<string, number | null> {
  const values: Record<string, number | null> = {
    [TT.period]: storedThrottlePeriod(charge),
    [TT.curMsgs]: state.messages,
    [TT.curQuota]: state.bytes,
    [TT.initTime]: state.windowStart,
    [TT.lastTime]: now,
    [TT.lastNotifyTime]: state.lastNotified,
  };
  if (isSliding(charge)) {
    values[TT.prevMsgs] = state.previousMessages;
    values[TT.prevQuota] = state.previousBytes;
  } else if (row !== undefined && TT.prevMsgs in row) {
    values[TT.prevMsgs] = null;
    values[TT.prevQuota] = null;
  }
  return values;
}

/**
 * Check and count one message (see the module comment).
 *
 * @param slidingColumns - whether `throttle_tracking` has the sliding columns; asked only for sliding charges
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for malformed charges or a setting that does not exist
 *   (nothing is written then)
 */
export async function consumeThrottle(
  db: SqlDatabase,
  charges: readonly ThrottleCharge[],
  nowMs: number,
  slidingColumns: () => Promise<boolean>,
): Promise<ThrottleConsumeResult> {
  checkThrottleCharges(charges);
  const now = toUnixSeconds(nowMs, 'now');
  if (charges.length === 0) return { admitted: true, counters: [] };
  if (charges.some(isSliding) && !(await slidingColumns())) {
    throw new PolicydError(
      'POLICYD_ERR_STORE',
      `throttle.consume: sliding windows need the columns ${THROTTLE_TRACKING.name}.${TT.prevMsgs} and ${TT.prevQuota}; run migrate() to add them`,
      { value: THROTTLE_TRACKING.name },
    );
  }
  const ids = [...new Set(charges.map((charge) => charge.settingId))].sort((a, b) => a - b);

  return inTransaction(db, { table: THROTTLE.name, column: T.period }, async (trx) => {
    const locked = (await forUpdate(
      db,
      trx(THROTTLE.name).select(T.id).whereIn(T.id, ids).orderBy(T.id),
    )) as Row[];
    const existing = new Set(locked.map((row) => intOf(row[T.id])));
    const missing = ids.find((id) => !existing.has(id));
    if (missing !== undefined) {
      throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `throttle setting ${missing} does not exist`, {
        value: missing,
      });
    }
    const read = trx(THROTTLE_TRACKING.name).where((pairs) => {
      for (const charge of charges) {
        pairs.orWhere((pair) =>
          pair.where(TT.tid, charge.settingId).andWhere(TT.account, charge.trackingAccount),
        );
      }
    });
    const stored = rowsOfCharges(charges, (await forUpdate(db, read)) as Row[]);
    const states = charges.map((charge, i) => {
      const row = stored[i];
      return throttleWindowState(row === undefined ? undefined : storedCounterOf(row), charge, now);
    });

    for (const [index, charge] of charges.entries()) {
      const state = states[index]!;
      const limit = exceededThrottleLimit(state, charge, now);
      if (limit === undefined) continue;
      // Only the rejecting counter is written: its window (when new or rolled) and the notification claim.
      const notify = state.lastNotified < state.windowStart;
      if (state.fresh || notify) {
        const written = { ...state, lastNotified: notify ? now : state.lastNotified };
        const row = stored[index];
        await writeCounters(trx, [{ charge, row, values: counterValues(charge, row, now, written) }]);
      }
      const rejection: ThrottleRejection = { index, limit, notify };
      const counters = charges.map((c, i): ThrottleChargeCounters => {
        const before = throttleWindowOf(states[i]!, c);
        if (i !== index || !notify) return { before, after: before };
        return { before, after: throttleWindowOf({ ...states[i]!, lastNotified: now }, c) };
      });
      return { admitted: false, rejection, counters };
    }

    const counted = charges.map((charge, i) => countThrottleCharge(states[i]!, charge));
    await writeCounters(
      trx,
      charges.map((charge, i) => ({
        charge,
        row: stored[i],
        values: counterValues(charge, stored[i], now, counted[i]!),
      })),
    );
    return {
      admitted: true,
      counters: charges.map((charge, i) => ({
        before: throttleWindowOf(states[i]!, charge),
        after: throttleWindowOf(counted[i]!, charge),
      })),
    };
  });
}

/** One counter to write: the charge, its stored row (if any) and the new column values. */
interface CounterWrite {
  readonly charge: ThrottleCharge;
  readonly row: Row | undefined;
  readonly values: Record<string, number | null>;
}

/**
 * Update the counters that exist (by id), insert the others in one statement. A counter deleted meanwhile
 * (`resetCounters`, `cleanup`, which do not take the setting lock) is inserted again.
 */
async function writeCounters(trx: Knex.Transaction, writes: readonly CounterWrite[]): Promise<void> {
  const inserts: Record<string, number | string | null>[] = [];
  for (const { charge, row, values } of writes) {
    if (row !== undefined) {
      const updated = await trx(THROTTLE_TRACKING.name)
        .update(values)
        .where(TT.id, row[TT.id] as never);
      if (affectedRows(updated) > 0) continue;
    }
    inserts.push({ [TT.tid]: charge.settingId, [TT.account]: charge.trackingAccount, ...values });
  }
  if (inserts.length > 0) await trx(THROTTLE_TRACKING.name).insert(inserts);
}
