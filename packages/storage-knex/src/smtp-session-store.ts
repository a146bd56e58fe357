/**
 * `SmtpSessionLog` on iRedAPD's `iredapd.smtp_sessions` table: rows are written with multi-row `INSERT`s (no
 * read; a transaction only when a batch needs several statements), and expired in bounded batches as
 * `cleanup_db.py` does it.
 */

import {
  type CleanupResult,
  checkSmtpSessionRows,
  SMTP_SESSION_FIELD_LENGTHS,
  type SmtpSessionCleanupOptions,
  type SmtpSessionLog,
  type SmtpSessionRow,
  type SmtpSessionTextField,
  smtpSessionCutoff,
  smtpSessionTimeText,
  toUnixSeconds,
} from '@policyd/core';
import type { Knex } from 'knex';
import { deleteExpiredInBatches } from './batched-cleanup.ts';
import { quoteIdentifier } from './schema/spec.ts';
import { inTransaction, type SqlDatabase } from './sql.ts';
import { withStoreErrors } from './store-error.ts';
import { SMTP_SESSIONS } from './tables.ts';

const S = SMTP_SESSIONS.col;

/** Column → value of a checked row: the one mapping both the column list and every row's values come from. */
const COLUMNS: readonly (readonly [column: string, value: (row: SmtpSessionRow) => string | number])[] = [
  [S.time, (row) => smtpSessionTimeText(row.time)],
  [S.timeNum, (row) => toUnixSeconds(row.time)],
  [S.action, (row) => row.action],
  [S.reason, (row) => row.reason],
  [S.instance, (row) => row.instance],
  [S.clientAddress, (row) => row.clientAddress],
  [S.clientName, (row) => row.clientName],
  [S.reverseClientName, (row) => row.reverseClientName],
  [S.heloName, (row) => row.heloName],
  [S.sender, (row) => row.sender],
  [S.senderDomain, (row) => row.senderDomain],
  [S.saslUsername, (row) => row.saslUsername],
  [S.saslDomain, (row) => row.saslDomain],
  [S.recipient, (row) => row.recipient],
  [S.recipientDomain, (row) => row.recipientDomain],
  [S.encryptionProtocol, (row) => row.encryptionProtocol],
  [S.encryptionCipher, (row) => row.encryptionCipher],
  [S.serverAddress, (row) => row.serverAddress],
  [S.serverPort, (row) => row.serverPort],
];

/**
 * Most rows per `INSERT`: 500 × 19 columns = 9 500 bound values, far below SQLite's 32 766 and the 65 535 of
 * MySQL's and PostgreSQL's protocols.
 */
export const SMTP_SESSION_ROWS_PER_INSERT = 500;

/**
 * Most text per `INSERT`, in UTF-16 code units (at most 3 bytes of UTF-8 each, twice that once escaped): about
 * 1.5 MB at worst, below MySQL's smallest default `max_allowed_packet` (4 MB) even when every row fills its
 * columns. Ordinary rows (a few hundred characters) reach {@link SMTP_SESSION_ROWS_PER_INSERT} first.
 */
export const SMTP_SESSION_TEXT_PER_INSERT = 256 * 1024;

const TEXT_FIELDS = Object.keys(SMTP_SESSION_FIELD_LENGTHS) as SmtpSessionTextField[];

function textLength(row: SmtpSessionRow): number {
  let length = 19; // the `time` column's text
  for (const field of TEXT_FIELDS) length += row[field].length;
  return length;
}

/**
 * Split checked rows into the chunks written by one `INSERT` each: at most
 * {@link SMTP_SESSION_ROWS_PER_INSERT} rows and {@link SMTP_SESSION_TEXT_PER_INSERT} code units of text (a
 * single larger row still gets its own chunk), in order.
 */
export function smtpSessionInsertChunks(rows: readonly SmtpSessionRow[]): SmtpSessionRow[][] {
  const result: SmtpSessionRow[][] = [];
  let current: SmtpSessionRow[] = [];
  let text = 0;
  for (const row of rows) {
    const length = textLength(row);
    if (
      current.length > 0 &&
      (current.length >= SMTP_SESSION_ROWS_PER_INSERT || text + length > SMTP_SESSION_TEXT_PER_INSERT)
    ) {
      result.push(current);
      current = [];
      text = 0;
    }
    current.push(row);
    text += length;
  }
  if (current.length > 0) result.push(current);
  return result;
}

/**
 * The request log on the `iredapd` database.
 *
 * @example
 * ```ts
 * const log = createKnexSmtpSessionLog(storage.databases.iredapd);
 * await log.recordMany(rows); // one INSERT per 500 rows
 * await log.cleanup({ now: Date.now(), olderThanMs: 7 * 86_400_000 }); // LOG_SMTP_SESSIONS_EXPIRE_DAYS = 7
 * ```
 */
export function createKnexSmtpSessionLog(db: SqlDatabase): SmtpSessionLog {
  const q = (name: string) => quoteIdentifier(db.dialect, name);
  const into = `INSERT INTO ${q(SMTP_SESSIONS.name)} (${COLUMNS.map(([column]) => q(column)).join(', ')}) VALUES `;
  const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;

  // Raw SQL rather than knex's builder: the builder writes SQLite's multi-row insert as a compound SELECT
  // (at most 500 terms by default), and compiling it costs CPU for every value of every row.
  async function insert(knex: Knex, chunk: readonly SmtpSessionRow[]): Promise<void> {
    const bindings: (string | number)[] = [];
    for (const row of chunk) for (const [, value] of COLUMNS) bindings.push(value(row));
    await knex.raw(into + Array.from(chunk, () => tuple).join(', '), bindings);
  }

  async function write(operation: string, input: readonly SmtpSessionRow[]): Promise<void> {
    const chunks = smtpSessionInsertChunks(checkSmtpSessionRows(input)); // throws before any query
    if (chunks.length === 0) return;
    await withStoreErrors(operation, async () => {
      if (chunks.length === 1) {
        await insert(db.knex, chunks[0]!);
        return;
      }
      // Several statements: one transaction, so that the batch is stored whole or not at all.
      await inTransaction(db, { table: SMTP_SESSIONS.name, column: S.id }, async (trx) => {
        for (const chunk of chunks) await insert(trx, chunk);
      });
    });
  }

  return {
    record: (row) => write('smtpSessions.record', [row]),
    recordMany: (rows) => write('smtpSessions.recordMany', rows),
    async cleanup(options: SmtpSessionCleanupOptions): Promise<CleanupResult> {
      smtpSessionCutoff(0, options.olderThanMs); // bad options fail before any query
      return withStoreErrors('smtpSessions.cleanup', () =>
        deleteExpiredInBatches(
          db,
          {
            table: SMTP_SESSIONS.name,
            id: S.id,
            expired: (query, now) => query.where(S.timeNum, '<', smtpSessionCutoff(now, options.olderThanMs)),
          },
          options,
        ),
      );
    },
  };
}
