/**
 * `SmtpSessionLog` on iRedAPD's `iredapd.smtp_sessions` table: one plain `INSERT` per row (no transaction, no
 * read), and expiry in bounded batches as `cleanup_db.py` does it.
 */

import {
  type CleanupResult,
  checkSmtpSessionRow,
  type SmtpSessionCleanupOptions,
  type SmtpSessionLog,
  smtpSessionCutoff,
  smtpSessionTimeText,
  toUnixSeconds,
} from '@policyd/core';
import { deleteExpiredInBatches } from './batched-cleanup.ts';
import type { SqlDatabase } from './sql.ts';
import { withStoreErrors } from './store-error.ts';
import { SMTP_SESSIONS } from './tables.ts';

const S = SMTP_SESSIONS.col;

/**
 * The request log on the `iredapd` database.
 *
 * @example
 * ```ts
 * const log = createKnexSmtpSessionLog(storage.databases.iredapd);
 * await log.cleanup({ now: Date.now(), olderThanMs: 7 * 86_400_000 }); // LOG_SMTP_SESSIONS_EXPIRE_DAYS = 7
 * ```
 */
export function createKnexSmtpSessionLog(db: SqlDatabase): SmtpSessionLog {
  return {
    async record(input) {
      const row = checkSmtpSessionRow(input);
      await withStoreErrors('smtpSessions.record', async () => {
        await db.knex(SMTP_SESSIONS.name).insert({
          [S.time]: smtpSessionTimeText(row.time),
          [S.timeNum]: toUnixSeconds(row.time),
          [S.action]: row.action,
          [S.reason]: row.reason,
          [S.instance]: row.instance,
          [S.clientAddress]: row.clientAddress,
          [S.clientName]: row.clientName,
          [S.reverseClientName]: row.reverseClientName,
          [S.heloName]: row.heloName,
          [S.sender]: row.sender,
          [S.senderDomain]: row.senderDomain,
          [S.saslUsername]: row.saslUsername,
          [S.saslDomain]: row.saslDomain,
          [S.recipient]: row.recipient,
          [S.recipientDomain]: row.recipientDomain,
          [S.encryptionProtocol]: row.encryptionProtocol,
          [S.encryptionCipher]: row.encryptionCipher,
          [S.serverAddress]: row.serverAddress,
          [S.serverPort]: row.serverPort,
        });
      });
    },
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
