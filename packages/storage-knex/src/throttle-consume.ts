/**
 * `ThrottleStore.consume` on `throttle` / `throttle_tracking`: check and count one message, all or nothing,
 * atomic across connections and processes.
 *
 * Calls that charge different counters run in parallel; calls that charge the same counter (setting id +
 * tracking account) queue for it, whatever setting they share — a server-wide `@.` setting does not make every
 * user's message wait for every other's. iRedMail's PostgreSQL schema has no unique key on
 * `throttle_tracking (tid, account)` (and an existing MySQL database may lack its), so a counter that does not
 * exist yet cannot be locked as a row; `counter-locks.ts` takes the server's named locks instead:
 *
 * 1. lock the charged counters, in key order: PostgreSQL `pg_advisory_xact_lock` (one statement, inside the
 *    `READ COMMITTED` transaction); MySQL `GET_LOCK` (one statement, before `BEGIN`, released with
 *    `RELEASE_LOCK` after `COMMIT` on the same connection); SQLite none, its transaction starts with a write
 *    that takes the database's write lock;
 * 2. one statement reads the charged settings (they must exist) left-joined with the charged counters — no row
 *    locks needed: the previous holder of a counter lock committed before releasing it;
 * 3. decide with core's shared window functions (`throttle-window.ts`), exactly as the memory store does;
 * 4. write: one `UPDATE` per existing counter that changes, one multi-row `INSERT` for new ones. The foreign key
 *    `throttle_tracking.tid` keeps a setting deleted meanwhile from getting a counter.
 *
 * Statements for a typical admitted message with one counter: PostgreSQL 5 (`BEGIN`, lock, read, write,
 * `COMMIT`), MySQL 6 (`GET_LOCK`, `BEGIN`, read, write, `COMMIT`, `RELEASE_LOCK`), SQLite 4 plus its in-process
 * no-op write; one fewer for a rejection that writes nothing. A deadlock or serialization failure reruns the
 * transaction (`inTransaction`; MySQL keeps its counter locks meanwhile).
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
import { withCounterLocks } from './counter-locks.ts';
import { affectedRows, inTransaction, intOf, type SqlDatabase, textOf } from './sql.ts';
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

  return withCounterLocks(db, charges, (scope) =>
    inTransaction(
      db,
      { table: THROTTLE.name, column: T.period },
      async (trx) => {
        await scope.lockInTransaction(trx);
        const rows = (await readSettingsAndCounters(trx, ids, charges)) as Row[];
        const existing = new Set(rows.map((row) => intOf(row[SETTING_ID])));
        const missing = ids.find((id) => !existing.has(id));
        if (missing !== undefined) throw settingMissing(missing);
        const stored = rowsOfCharges(
          charges,
          rows.filter((row) => row[TT.id] !== null && row[TT.id] !== undefined),
        );
        return decide(trx, charges, stored, now);
      },
      scope.transaction,
    ),
  );
}

/** The alias of `throttle.id` in {@link readSettingsAndCounters}' rows. */
const SETTING_ID = 'policyd_setting_id';

/**
 * One statement: the charged settings (`throttle.id AS policyd_setting_id`), each joined with its charged
 * counters (all `throttle_tracking` columns, `NULL` for a setting without one). No row locks: the counter locks
 * keep other `consume` calls off these counters, and the foreign key `throttle_tracking.tid` keeps a setting
 * deleted meanwhile from getting a counter (the write then fails, {@link settingMissing}).
 */
function readSettingsAndCounters(
  trx: Knex.Transaction,
  ids: readonly number[],
  charges: readonly ThrottleCharge[],
): Knex.QueryBuilder {
  const settingId = `${THROTTLE.name}.${T.id}`;
  const tid = `${THROTTLE_TRACKING.name}.${TT.tid}`;
  const account = `${THROTTLE_TRACKING.name}.${TT.account}`;
  return trx(THROTTLE.name)
    .select(`${settingId} as ${SETTING_ID}`, `${THROTTLE_TRACKING.name}.*`)
    .leftJoin(THROTTLE_TRACKING.name, (join) => {
      join.on(tid, '=', settingId).andOn((pairs) => {
        for (const charge of charges) {
          pairs.orOn((pair) => pair.onVal(tid, charge.settingId).andOnVal(account, charge.trackingAccount));
        }
      });
    })
    .whereIn(settingId, [...ids]);
}

function settingMissing(id: number): PolicydError {
  return new PolicydError('POLICYD_ERR_INVALID_OPTION', `throttle setting ${id} does not exist`, {
    value: id,
  });
}

/** A foreign key violation: the charged setting was deleted after it was read (PG 23503, MySQL 1452, SQLite). */
function isForeignKeyViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  return code === '23503' || errno === 1452 || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Decide with the stored counters and write what the decision changes (see the module comment). */
async function decide(
  trx: Knex.Transaction,
  charges: readonly ThrottleCharge[],
  stored: readonly (Row | undefined)[],
  now: number,
): Promise<ThrottleConsumeResult> {
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
}

/** One counter to write: the charge, its stored row (if any) and the new column values. */
interface CounterWrite {
  readonly charge: ThrottleCharge;
  readonly row: Row | undefined;
  readonly values: Record<string, number | null>;
}

/**
 * Update the counters that exist (by id), insert the others in one statement. A counter deleted meanwhile
 * (`resetCounters`, `cleanup`, which do not take the counter locks) is inserted again. A foreign key violation
 * (the setting was deleted after the read) is reported as the missing setting.
 */
async function writeCounters(trx: Knex.Transaction, writes: readonly CounterWrite[]): Promise<void> {
  try {
    await writeRows(trx, writes);
  } catch (err) {
    const charge = writes.find((write) => write.row === undefined)?.charge ?? writes[0]?.charge;
    if (charge !== undefined && isForeignKeyViolation(err)) throw settingMissing(charge.settingId);
    throw err;
  }
}

async function writeRows(trx: Knex.Transaction, writes: readonly CounterWrite[]): Promise<void> {
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
