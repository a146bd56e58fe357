/**
 * The SQL request log: iRedAPD's `iredapd.smtp_sessions`, one row per logged policy answer (which answers a
 * daemon logs is its own rule; the store only writes and expires rows).
 */

import { PolicydError } from '../errors.ts';
import type { CleanupOptions, CleanupResult } from './cleanup.ts';
import { toUnixSeconds } from './store-time.ts';

/** One `smtp_sessions` row. Text values are as the request gave them, `''` when absent. */
export interface SmtpSessionRow {
  /** When, in milliseconds since the epoch; stored as UTC text (`time`) and whole unix seconds (`time_num`). */
  readonly time: number;
  /** First word of the action sent to Postfix: `OK`, `REJECT`, `DISCARD`, `451`, `DUNNO` … */
  readonly action: string;
  /** The rest of the action after the first space; `''` for DUNNO. */
  readonly reason: string;
  /** Postfix's `instance`. */
  readonly instance: string;
  /** `client_address`. */
  readonly clientAddress: string;
  /** `client_name`. */
  readonly clientName: string;
  /** `reverse_client_name`. */
  readonly reverseClientName: string;
  /** `helo_name`. */
  readonly heloName: string;
  /** Sender without its address extension. */
  readonly sender: string;
  /** Sender domain. */
  readonly senderDomain: string;
  /** `sasl_username`. */
  readonly saslUsername: string;
  /** Domain of `sasl_username`. */
  readonly saslDomain: string;
  /** Recipient without its address extension. */
  readonly recipient: string;
  /** Recipient domain. */
  readonly recipientDomain: string;
  /** `encryption_protocol`. */
  readonly encryptionProtocol: string;
  /** `encryption_cipher`. */
  readonly encryptionCipher: string;
  /** `server_address`. */
  readonly serverAddress: string;
  /** `server_port`, as text. */
  readonly serverPort: string;
}

/** The text fields of a {@link SmtpSessionRow}. */
export type SmtpSessionTextField = Exclude<keyof SmtpSessionRow, 'time'>;

/**
 * Longest value kept per field: the column widths of iRedAPD's MySQL table, the narrowest of its schemas
 * (PostgreSQL's `reason` is 255). Longer values are cut, so that every backend stores the same row and a
 * strict-mode MySQL never refuses it (iRedAPD loses such rows).
 */
export const SMTP_SESSION_FIELD_LENGTHS: Readonly<Record<SmtpSessionTextField, number>> = Object.freeze({
  action: 20,
  reason: 150,
  instance: 40,
  clientAddress: 40,
  clientName: 255,
  reverseClientName: 255,
  heloName: 255,
  sender: 255,
  senderDomain: 255,
  saslUsername: 255,
  saslDomain: 255,
  recipient: 255,
  recipientDomain: 255,
  encryptionProtocol: 20,
  encryptionCipher: 50,
  serverAddress: 40,
  serverPort: 10,
});

const TEXT_FIELDS = Object.keys(SMTP_SESSION_FIELD_LENGTHS) as SmtpSessionTextField[];

/** Options of {@link SmtpSessionLog.cleanup}. */
export interface SmtpSessionCleanupOptions extends CleanupOptions {
  /**
   * Delete rows older than this, in milliseconds before `now` (whole seconds count): iRedAPD's
   * `LOG_SMTP_SESSIONS_EXPIRE_DAYS × 86 400 000`.
   */
  readonly olderThanMs: number;
}

/** Writes and expires `smtp_sessions` rows. */
export interface SmtpSessionLog {
  /**
   * Insert one row, after {@link checkSmtpSessionRow}. One round trip.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed row, `POLICYD_ERR_STORE` when the
   * database fails
   */
  record(row: SmtpSessionRow): Promise<void>;
  /**
   * Insert `rows` in their order, each stored exactly as {@link SmtpSessionLog.record} would store it. Every
   * row is checked with {@link checkSmtpSessionRow} ({@link checkSmtpSessionRows}) before anything is written, so a malformed row rejects the
   * whole batch and none of it is stored. An empty array resolves without a query.
   *
   * Cost: one round trip per chunk. A SQL implementation writes a chunk with one multi-row `INSERT`, sized to
   * stay below every backend's limits on bound parameters and statement size; a batch that needs more than
   * one chunk also runs in one transaction (two more round trips), so that it is stored whole or not at all.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed row (nothing written),
   * `POLICYD_ERR_STORE` when the database fails
   */
  recordMany(rows: readonly SmtpSessionRow[]): Promise<void>;
  /**
   * Delete the rows whose `time_num` is strictly before `now − olderThanMs` (in whole seconds), in batches of
   * `batchSize`, as iRedAPD's `cleanup_db.py`.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for bad options (before any query),
   * `POLICYD_ERR_STORE` when the database fails
   */
  cleanup(options: SmtpSessionCleanupOptions): Promise<CleanupResult>;
}

/**
 * Check a row and cut over-long values to {@link SMTP_SESSION_FIELD_LENGTHS}, so that every implementation
 * stores the same thing.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `time` is not a time in milliseconds or a text field
 * is not a string
 */
export function checkSmtpSessionRow(row: SmtpSessionRow): SmtpSessionRow {
  if (typeof row !== 'object' || row === null) {
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `smtp_sessions row must be an object, got ${row}`, {
      value: row,
    });
  }
  toUnixSeconds(row.time, 'smtp_sessions row time');
  const checked: Record<string, unknown> = { time: row.time };
  for (const field of TEXT_FIELDS) {
    const value = row[field];
    if (typeof value !== 'string') {
      throw new PolicydError(
        'POLICYD_ERR_INVALID_OPTION',
        `smtp_sessions row ${field} must be a string, got ${String(value)}`,
        { value },
      );
    }
    checked[field] = cut(value, SMTP_SESSION_FIELD_LENGTHS[field]);
  }
  return checked as unknown as SmtpSessionRow;
}

/**
 * {@link checkSmtpSessionRow} for a batch: every row is checked (and cut) before the caller writes any, so that
 * a malformed row rejects the whole batch.
 *
 * @returns the checked rows, in order
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `rows` is not an array or a row is malformed
 */
export function checkSmtpSessionRows(rows: readonly SmtpSessionRow[]): SmtpSessionRow[] {
  if (!Array.isArray(rows)) {
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `smtp_sessions rows must be an array, got ${rows}`, {
      value: rows,
    });
  }
  return rows.map((row) => checkSmtpSessionRow(row));
}

// By code points, as VARCHAR counts characters: never split a surrogate pair.
function cut(value: string, length: number): string {
  if (value.length <= length) return value;
  return Array.from(value).slice(0, length).join('');
}

/**
 * The `time` column's text: UTC `YYYY-MM-DD HH:MM:SS`, as iRedAPD writes it.
 *
 * @example
 * ```ts
 * smtpSessionTimeText(Date.UTC(2026, 0, 2, 3, 4, 5, 678)); // '2026-01-02 03:04:05'
 * ```
 */
export function smtpSessionTimeText(ms: number): string {
  const seconds = toUnixSeconds(ms, 'time');
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * The cut-off of a cleanup in unix seconds: rows with `time_num` strictly below it are expired.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `olderThanMs` is not a number of milliseconds ≥ 0
 */
export function smtpSessionCutoff(nowSeconds: number, olderThanMs: number): number {
  if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `cleanup: olderThanMs must be milliseconds ≥ 0, got ${olderThanMs}`,
      { value: olderThanMs },
    );
  }
  return nowSeconds - Math.floor(olderThanMs / 1000);
}
