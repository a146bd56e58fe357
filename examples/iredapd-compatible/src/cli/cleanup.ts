/**
 * `policyd-admin cleanup` (alias `cleanup_db`): iRedAPD's `tools/cleanup_db.py`. Deletes expired rows of
 * `throttle_tracking`, `greylisting_tracking`, `senderscore_cache` and `smtp_sessions` in batches of
 * `CLEANUP_QUERY_SIZE_LIMIT` rows, printing the running total per batch and the rows left per table, with
 * iRedAPD's lines. On a terminal the per-batch line is redrawn in place instead.
 */

import type { CleanupOptions, CleanupResult } from '@policyd/core';
import { createKnexMaintenance, type MaintainedTable } from '@policyd/storage-knex';
import type { Command } from 'commander';
import { addDatabaseOptions, type CommandEnv, pad } from './command-env.ts';
import { describeError, loadCliSettings, withDatabase } from './context.ts';
import { CliError, EXIT, errorLine, line } from './io.ts';
import { createProgress } from './progress.ts';

/** The flags of `cleanup`, as commander names them. */
interface CleanupFlags {
  readonly batchSize?: string;
  readonly config?: string;
  readonly dataDir?: string;
}

const DAY_MS = 86_400_000;

const EXAMPLES = `
Deleted: throttle_tracking rows whose window ended, greylisting_tracking rows past record_expired,
senderscore_cache rows older than SENDERSCORE_CACHE_DAYS, smtp_sessions rows older than
LOG_SMTP_SESSIONS_EXPIRE_DAYS. A table that fails is reported and the others are still cleaned (exit 2).

Cron (as iRedAPD's cleanup_db.py, hourly at minute 1):
  1 * * * * /usr/local/bin/cleanup_db --config /opt/iredapd/settings.py >/dev/null
`;

function batchSizeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) {
    throw new CliError(
      `Invalid --batch-size: ${JSON.stringify(value)} (expected a number from 1 to 1000000).`,
    );
  }
  return n;
}

async function run(flags: CleanupFlags, env: CommandEnv): Promise<void> {
  const { io } = env;
  const flagBatch = batchSizeOf(flags.batchSize);
  const settings = await loadCliSettings(flags);
  const { cleanup } = settings.config;
  const batchSize = flagBatch ?? cleanup.batchSize;
  const now = (io.now ?? Date.now)();

  await withDatabase(
    io,
    flags,
    ['iredapd'],
    async ({ storage }) => {
      const maintenance = createKnexMaintenance(storage.databases.iredapd);
      type Batch = (options: CleanupOptions) => Promise<CleanupResult>;
      const jobs: readonly (readonly [MaintainedTable, Batch])[] = [
        ['throttle_tracking', (o) => storage.throttle.cleanup(o)],
        ['greylisting_tracking', (o) => storage.greylist.cleanup(o)],
        [
          'senderscore_cache',
          (o) =>
            maintenance.cleanupSenderscoreCache({ ...o, olderThanMs: cleanup.senderscoreCacheDays * DAY_MS }),
        ],
        [
          'smtp_sessions',
          (o) => storage.smtpSessions.cleanup({ ...o, olderThanMs: cleanup.smtpSessionsExpireDays * DAY_MS }),
        ],
      ];
      let failed = false;
      for (const [table, batch] of jobs) {
        const label = `* ${pad(table, 20)}`;
        const progress = createProgress(io.stdout);
        let removed = 0;
        try {
          // One batch per call, so that every batch is reported as it is done.
          for (;;) {
            const result = await batch({ now, batchSize, maxBatches: 1 });
            removed += result.deleted;
            if (result.deleted > 0) {
              const text = `${label}: ${removed} records removed.`;
              if (progress.active) progress.update(text);
              else line(io.stdout, text);
            }
            if (!result.more) break;
          }
          progress.clear();
          if (progress.active && removed > 0) line(io.stdout, `${label}: ${removed} records removed.`);
          line(io.stdout, `${label}: ${await maintenance.countRows(table)} left.`);
        } catch (err) {
          progress.clear();
          errorLine(io, `${table}: ${describeError(err)}`);
          failed = true;
        }
      }
      if (failed) env.setExit(EXIT.failure);
    },
    settings,
  );
}

/**
 * Register `cleanup` (alias `cleanup_db`) on the program.
 *
 * @example
 * ```ts
 * registerCleanupCommand(program, env);
 * await program.parseAsync(['cleanup', '--config', '/opt/iredapd/settings.py'], { from: 'user' });
 * ```
 */
export function registerCleanupCommand(program: Command, env: CommandEnv): Command {
  const command = program
    .command('cleanup')
    .alias('cleanup_db')
    .summary("delete expired tracking and log rows (iRedAPD's cleanup_db.py)")
    .description(
      "Delete expired rows in batches, as iRedAPD's cleanup_db.py does: throttle and greylisting tracking, " +
        'cached sender scores and the smtp_sessions log.',
    )
    .option('--batch-size <rows>', 'rows deleted per statement; default CLEANUP_QUERY_SIZE_LIMIT (1000)');
  addDatabaseOptions(command)
    .addHelpText('after', EXAMPLES)
    .action(async (flags: CleanupFlags) => {
      await run(flags, env);
    });
  return command;
}
