/**
 * `GreylistStore.recordAttempt`: iRedAPD's triplet state machine on `greylisting_tracking`, atomic on every
 * backend without holding a transaction open across round trips. The triplet's unique key
 * (`sender, recipient, client_address`, present in every iRedAPD schema) makes the first insert win; every
 * later change is one conditional statement whose guard is the state it moves out of, so two concurrent
 * attempts can never both take the same transition (20 concurrent first attempts: one `new`, 19 `too-early`,
 * `blocked_count` 20).
 *
 * - PostgreSQL, **one statement** in every case: a data-modifying `WITH` that inserts the row unless it exists,
 *   else locks it (`FOR UPDATE`, which re-reads the newest committed version), applies the transition with
 *   `CASE` on the locked values, returns the outcome, and on a pass deletes the client's pending rows. When a
 *   concurrent first attempt committed after the statement's snapshot, neither part finds the row and the
 *   statement is simply run again.
 * - MySQL/MariaDB and SQLite (no `UPDATE … RETURNING` of old values on MySQL): `INSERT` (MySQL: a
 *   duplicate-key error means the row exists; `INSERT IGNORE` would store a too-long value truncated) /
 *   `INSERT … ON CONFLICT DO NOTHING` (1 statement: a first attempt ends here), else read the row and run the
 *   transition as an `UPDATE … WHERE id = ? AND <state guard>` (2 more), plus the `DELETE` of the client's
 *   pending rows after a pass (1 more). When the guard fails because another caller changed the row first, it
 *   reads again. Values the `UPDATE` computes from the row come back through `RETURNING` (SQLite) or
 *   `LAST_INSERT_ID(expr)` (MySQL), so the reported row is exact.
 */

import type { GreylistAttemptResult, GreylistAttemptTimes, GreylistTriplet } from '@policyd/core';
import {
  fromUnixSeconds,
  type GreylistAttemptOutcome,
  type GreylistAttemptSeconds,
  PolicydError,
  parseGreylistAttempt,
} from '@policyd/core';
import { insertOneIgnoringDuplicate } from './insert-ignore.ts';
import { type RawRow, rawAffected, rawInsertId, rawRows } from './raw-result.ts';
import { quoteIdentifier } from './schema/spec.ts';
import { affectedRows, intOf, type SqlDatabase, textOf } from './sql.ts';
import type { StatementCache } from './statement-cache.ts';
import { GREYLISTING_TRACKING } from './tables.ts';

/** Give up after this many rounds of losing races on one triplet (each lost round means another caller won). */
const MAX_ROUNDS = 20;

const T = GREYLISTING_TRACKING.name;
const C = GREYLISTING_TRACKING.col;

/** The columns of a tracking row the result needs (times in unix seconds). */
interface Row {
  readonly senderDomain: string;
  readonly recipientDomain: string;
  readonly init: number;
  readonly blockExpires: number;
  readonly recordExpires: number;
  readonly blockedCount: number;
  readonly passed: number;
}

function rowOf(raw: RawRow): Row {
  return {
    senderDomain: textOf(raw[C.senderDomain]),
    recipientDomain: textOf(raw[C.rcptDomain]),
    init: intOf(raw[C.initTime]),
    blockExpires: intOf(raw[C.blockExpired]),
    recordExpires: intOf(raw[C.recordExpired]),
    blockedCount: intOf(raw[C.blockedCount]),
    passed: intOf(raw[C.passed]),
  };
}

function resultOf(
  triplet: GreylistTriplet,
  outcome: GreylistAttemptOutcome,
  row: Row,
): GreylistAttemptResult {
  return {
    outcome,
    triplet: {
      sender: triplet.sender,
      senderDomain: row.senderDomain,
      recipient: triplet.recipient,
      recipientDomain: row.recipientDomain,
      clientKey: triplet.clientKey,
      firstSeenAt: fromUnixSeconds(row.init),
      blockExpiresAt: fromUnixSeconds(row.blockExpires),
      recordExpiresAt: fromUnixSeconds(row.recordExpires),
      blockedCount: row.blockedCount,
      passed: row.passed === 1,
    },
  };
}

/** The row a first attempt inserts. */
function newRow(triplet: GreylistTriplet, t: GreylistAttemptSeconds): Row {
  return {
    senderDomain: triplet.senderDomain,
    recipientDomain: triplet.recipientDomain,
    init: t.now,
    blockExpires: t.blockExpires,
    recordExpires: t.unauthExpires,
    blockedCount: 1,
    passed: 0,
  };
}

/** The columns of a first attempt's `INSERT`, in the order of {@link firstAttemptValues}. */
export const FIRST_ATTEMPT_COLUMNS: readonly string[] = Object.freeze([
  C.sender,
  C.recipient,
  C.clientAddress,
  C.senderDomain,
  C.rcptDomain,
  C.initTime,
  C.blockExpired,
  C.recordExpired,
  C.blockedCount,
  C.passed,
]);

/** The values of the row a first attempt inserts (outcome `new`), in {@link FIRST_ATTEMPT_COLUMNS} order. */
export function firstAttemptValues(
  triplet: GreylistTriplet,
  t: Pick<GreylistAttemptSeconds, 'now' | 'blockExpires' | 'unauthExpires'>,
): (string | number)[] {
  return [
    triplet.sender,
    triplet.recipient,
    triplet.clientKey,
    triplet.senderDomain,
    triplet.recipientDomain,
    t.now,
    t.blockExpires,
    t.unauthExpires,
    1,
    0,
  ];
}

function contention(triplet: GreylistTriplet): PolicydError {
  return new PolicydError(
    'POLICYD_ERR_STORE',
    `greylisting.recordAttempt: no stable tracking row for the triplet ${JSON.stringify([triplet.sender, triplet.recipient, triplet.clientKey])} after ${MAX_ROUNDS} rounds of concurrent changes`,
    { value: triplet },
  );
}

/** PostgreSQL: the whole state machine as one statement (see the module comment). */
function postgresStatement(): string {
  const q = (name: string) => quoteIdentifier('pg', name);
  const key = `${q(C.sender)} = ? AND ${q(C.recipient)} = ? AND ${q(C.clientAddress)} = ?`;
  // Parameters, in order: 5 triplet values, now, blockExpires, unauthExpires, then the key twice, then the
  // transition's values (see postgresBindings).
  const result = (from: string) =>
    [C.senderDomain, C.rcptDomain, C.initTime, C.blockExpired, C.recordExpired, C.blockedCount, C.passed]
      .map((c) => `${from}.${q(c)}`)
      .join(', ');
  const restart = `o.${q(C.recordExpired)} < ?`;
  const early = `? < o.${q(C.blockExpired)}`;
  return `WITH ins AS (
  INSERT INTO ${q(T)} (${[C.sender, C.recipient, C.clientAddress, C.senderDomain, C.rcptDomain, C.initTime, C.blockExpired, C.recordExpired, C.blockedCount, C.passed].map(q).join(', ')})
  SELECT ?, ?, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), 1, 0
  WHERE NOT EXISTS (SELECT 1 FROM ${q(T)} WHERE ${key})
  ON CONFLICT DO NOTHING
  RETURNING *
), o AS (
  SELECT ${q(C.id)}, ${q(C.passed)}, ${q(C.recordExpired)}, ${q(C.blockExpired)} FROM ${q(T)} WHERE ${key} FOR UPDATE
), upd AS (
  UPDATE ${q(T)} AS t SET
    ${q(C.initTime)} = CASE WHEN ${restart} THEN CAST(? AS BIGINT) ELSE t.${q(C.initTime)} END,
    ${q(C.blockExpired)} = CASE WHEN ${restart} THEN CAST(? AS BIGINT) ELSE t.${q(C.blockExpired)} END,
    ${q(C.recordExpired)} = CASE WHEN ${restart} THEN CAST(? AS BIGINT) WHEN ${early} THEN t.${q(C.recordExpired)}
      ELSE GREATEST(t.${q(C.recordExpired)}, CAST(? AS BIGINT)) END,
    ${q(C.blockedCount)} = CASE WHEN ${restart} THEN 1 WHEN ${early} THEN t.${q(C.blockedCount)} + 1
      ELSE t.${q(C.blockedCount)} END,
    ${q(C.passed)} = CASE WHEN ${restart} THEN 0 WHEN ${early} THEN t.${q(C.passed)} ELSE 1 END
  FROM o WHERE t.${q(C.id)} = o.${q(C.id)}
  RETURNING t.*, CASE WHEN ${restart} THEN 'restarted' WHEN ${early} THEN 'too-early'
    WHEN o.${q(C.passed)} = 1 THEN 'still-passed' ELSE 'passed' END AS outcome
), del AS (
  DELETE FROM ${q(T)} AS d USING upd
  WHERE d.${q(C.clientAddress)} = upd.${q(C.clientAddress)} AND d.${q(C.passed)} = 0
    AND d.${q(C.id)} <> upd.${q(C.id)} AND upd.${q(C.passed)} = 1
)
SELECT 'new' AS outcome, ${result('ins')} FROM ins
UNION ALL
SELECT outcome, ${result('upd')} FROM upd`;
}

/** The PostgreSQL statement, built once (it only depends on the table's names). */
const POSTGRES_ATTEMPT = postgresStatement();

function postgresBindings(triplet: GreylistTriplet, t: GreylistAttemptSeconds): unknown[] {
  const key = [triplet.sender, triplet.recipient, triplet.clientKey];
  const { now } = t;
  return [
    ...key,
    triplet.senderDomain,
    triplet.recipientDomain,
    now,
    t.blockExpires,
    t.unauthExpires,
    ...key,
    ...key,
    // SET init_time, block_expired
    now,
    now,
    now,
    t.blockExpires,
    // SET record_expired
    now,
    t.unauthExpires,
    now,
    t.authExpires,
    // SET blocked_count, passed
    now,
    now,
    now,
    now,
    // RETURNING outcome
    now,
    now,
  ];
}

async function recordOnPostgres(
  statements: StatementCache,
  triplet: GreylistTriplet,
  t: GreylistAttemptSeconds,
): Promise<GreylistAttemptResult> {
  const sql = POSTGRES_ATTEMPT;
  const bindings = postgresBindings(triplet, t);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const [row] = (await statements.execute(sql, bindings)).rows;
    if (row !== undefined)
      return resultOf(triplet, String(row.outcome) as GreylistAttemptOutcome, rowOf(row));
  }
  throw contention(triplet);
}

/** MySQL/MariaDB and SQLite: insert, or read and move the row with a guarded `UPDATE` (module comment). */
async function recordWithGuards(
  db: SqlDatabase,
  statements: StatementCache,
  triplet: GreylistTriplet,
  t: GreylistAttemptSeconds,
): Promise<GreylistAttemptResult> {
  const { knex, dialect } = db;
  const mysql = dialect === 'mysql';
  const q = (name: string) => quoteIdentifier(dialect, name);
  const { now } = t;
  const values = firstAttemptValues(triplet, t);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const inserted = await insertOneIgnoringDuplicate(statements, dialect, T, FIRST_ATTEMPT_COLUMNS, values);
    if (inserted === 1) return resultOf(triplet, 'new', newRow(triplet, t));

    const found = (await knex(T)
      .where(C.sender, triplet.sender)
      .andWhere(C.recipient, triplet.recipient)
      .andWhere(C.clientAddress, triplet.clientKey)
      .first()) as RawRow | undefined;
    if (found === undefined) continue; // deleted in between (cleanup, a pass): insert again
    const id = found[C.id];
    const row = rowOf(found);

    if (now > row.recordExpires) {
      const updated = await knex(T)
        .update({
          [C.initTime]: now,
          [C.blockExpired]: t.blockExpires,
          [C.recordExpired]: t.unauthExpires,
          [C.blockedCount]: 1,
          [C.passed]: 0,
        })
        .where(C.id, id as never)
        .andWhere(C.recordExpired, '<', now);
      if (affectedRows(updated) === 1) {
        return resultOf(triplet, 'restarted', { ...newRow(triplet, t), ...domainsOf(row) });
      }
      continue;
    }

    if (now < row.blockExpires) {
      const guard = `${q(C.id)} = ? AND ${q(C.recordExpired)} >= ? AND ${q(C.blockExpired)} > ?`;
      const result = mysql
        ? await knex.raw(
            `UPDATE ${q(T)} SET ${q(C.blockedCount)} = LAST_INSERT_ID(${q(C.blockedCount)} + 1) WHERE ${guard}`,
            [id, now, now] as never[],
          )
        : await knex.raw(
            `UPDATE ${q(T)} SET ${q(C.blockedCount)} = ${q(C.blockedCount)} + 1 WHERE ${guard} RETURNING ${q(C.blockedCount)}`,
            [id, now, now] as never[],
          );
      if (rawAffected(dialect, result) === 1) {
        const blockedCount = mysql
          ? rawInsertId(result)
          : intOf(rawRows(dialect, result)[0]?.[C.blockedCount]);
        return resultOf(triplet, 'too-early', { ...row, blockedCount });
      }
      continue;
    }

    // Retry after the block time: pass (or stay passed), keeping the later expiry.
    const greatest = mysql ? 'GREATEST' : 'MAX';
    const guard = `${q(C.id)} = ? AND ${q(C.recordExpired)} >= ? AND ${q(C.blockExpired)} <= ? AND ${q(C.passed)} = ?`;
    const expiry = `${greatest}(${q(C.recordExpired)}, ?)`;
    const bindings = [t.authExpires, id, now, now, row.passed] as never[];
    const result = mysql
      ? await knex.raw(
          `UPDATE ${q(T)} SET ${q(C.passed)} = 1, ${q(C.recordExpired)} = LAST_INSERT_ID(${expiry}) WHERE ${guard}`,
          bindings,
        )
      : await knex.raw(
          `UPDATE ${q(T)} SET ${q(C.passed)} = 1, ${q(C.recordExpired)} = ${expiry} WHERE ${guard} RETURNING ${q(C.recordExpired)}`,
          bindings,
        );
    if (rawAffected(dialect, result) !== 1) continue;
    const recordExpires = mysql ? rawInsertId(result) : intOf(rawRows(dialect, result)[0]?.[C.recordExpired]);
    // iRedAPD: once a triplet passes, the client's other pending triplets are dropped.
    await knex(T).where(C.clientAddress, triplet.clientKey).andWhere(C.passed, 0).delete();
    return resultOf(triplet, row.passed === 1 ? 'still-passed' : 'passed', {
      ...row,
      recordExpires,
      passed: 1,
    });
  }
  throw contention(triplet);
}

function domainsOf(row: Row): Pick<Row, 'senderDomain' | 'recipientDomain'> {
  return { senderDomain: row.senderDomain, recipientDomain: row.recipientDomain };
}

/**
 * Record one attempt of a triplet (see the module comment for the statements per dialect).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed triplet or times (before any query),
 *   `POLICYD_ERR_STORE` when no stable row is found in 20 rounds (other attempts kept changing it) or a value
 *   does not fit its column
 */
export async function recordGreylistAttempt(
  db: SqlDatabase,
  statements: StatementCache,
  triplet: GreylistTriplet,
  times: GreylistAttemptTimes,
): Promise<GreylistAttemptResult> {
  const t = parseGreylistAttempt(triplet, times);
  return db.dialect === 'pg'
    ? recordOnPostgres(statements, triplet, t)
    : recordWithGuards(db, statements, triplet, t);
}
