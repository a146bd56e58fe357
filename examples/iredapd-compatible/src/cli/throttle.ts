/**
 * `policyd-admin throttle`: throttle settings and counters, which iRedAPD leaves to its web panel (and
 * `fix_throttle_priority.py`). Settings are per account and kind (`inbound`, `outbound`, `external`) with
 * iRedAPD's columns: `period`, `msg_size`, `max_msgs`, `max_quota`, `max_rcpts`.
 */

import { parseAccount, parseThrottleKind, type ThrottleKind, type ThrottleSetting } from '@policyd/core';
import { createThrottleAdmin, type ThrottleCounterQuery } from '@policyd/plugin-throttle';
import type { Command } from 'commander';
import { addDatabaseOptions, type CommandEnv } from './command-env.ts';
import { withDatabase } from './context.ts';
import { CliError, type CliIo, line } from './io.ts';
import { formatTable, type TextColumn, utcTime } from './text-table.ts';
import { parseBytes, parseCount, parsePeriod, parsePriority } from './throttle-values.ts';

/** Flags shared by the throttle subcommands, as commander names them. */
interface ThrottleFlags {
  readonly account?: string;
  readonly kind?: string;
  readonly tracking?: string;
  readonly period?: string;
  readonly msgSize?: string;
  readonly maxMsgs?: string;
  readonly maxQuota?: string;
  readonly maxRcpts?: string;
  readonly priority?: string;
  readonly config?: string;
  readonly dataDir?: string;
}

const KINDS_TEXT = 'inbound, outbound or external';
const ACCOUNT_FORMS =
  'user@domain.com, @domain.com, @.domain.com, @.tld, @., an IP address, 192.0.2.*, a network, @ip';

const SETTING_COLUMNS: readonly TextColumn[] = [
  { title: 'account' },
  { title: 'kind' },
  { title: 'priority', right: true },
  { title: 'period', right: true },
  { title: 'msg_size', right: true },
  { title: 'max_msgs', right: true },
  { title: 'max_quota', right: true },
  { title: 'max_rcpts', right: true },
];

const LIMITS_LEGEND = '(limits: -1 inherits from the next lower-priority setting, 0 means no limit)';

const EXAMPLES = `
Kinds: outbound (authenticated or local senders), external (other senders), inbound (recipients).
Limits: -1 inherits from the next lower-priority setting of the same kind, 0 means no limit.
Periods take s, m, h or d (3600, 60m, 1h); sizes take K, M or G (1024-based: 25M = 26214400 bytes).

Examples:
  policyd-admin throttle set --account @example.com --kind outbound --period 1h --max-msgs 500
  policyd-admin throttle set --account user@example.com --kind outbound --max-quota 100M
  policyd-admin throttle set --account @. --kind external --period 1d --msg-size 25M --max-rcpts 50
  policyd-admin throttle list --kind outbound
  policyd-admin throttle counters --tracking user@example.com
  policyd-admin throttle reset --account @example.com --kind outbound
  policyd-admin throttle delete --account @example.com --kind outbound
  policyd-admin throttle fix-priorities
`;

function account(value: string): string {
  try {
    return parseAccount(value).account;
  } catch {
    throw new CliError(`Invalid account: ${JSON.stringify(value)} (expected ${ACCOUNT_FORMS}).`);
  }
}

function kind(value: string): ThrottleKind {
  try {
    return parseThrottleKind(value.trim().toLowerCase());
  } catch {
    throw new CliError(`Invalid --kind: ${JSON.stringify(value)} (expected ${KINDS_TEXT}).`);
  }
}

function settingRow(s: ThrottleSetting): string[] {
  return [
    s.account,
    s.kind,
    String(s.priority),
    String(s.periodSeconds),
    String(s.maxMessageSizeBytes),
    String(s.maxMessages),
    String(s.maxQuotaBytes),
    String(s.maxRecipients),
  ];
}

function printSettings(io: CliIo, settings: readonly ThrottleSetting[]): void {
  line(io.stdout, formatTable(SETTING_COLUMNS, settings.map(settingRow)));
  line(io.stdout, LIMITS_LEGEND);
}

/** `--account` + `--kind` (+ `--tracking`), or `--tracking` alone. */
function counterQuery(flags: ThrottleFlags): ThrottleCounterQuery {
  const hasAccount = flags.account !== undefined;
  if (hasAccount !== (flags.kind !== undefined)) {
    throw new CliError('--account and --kind go together (the setting whose counters to use).');
  }
  if (flags.account !== undefined && flags.kind !== undefined) {
    const base = { account: account(flags.account), kind: kind(flags.kind) };
    return flags.tracking === undefined ? base : { ...base, trackingAccount: flags.tracking };
  }
  if (flags.tracking === undefined) {
    throw new CliError(
      'Give --account and --kind (a setting), --tracking (a sender, recipient or IP), or both.',
    );
  }
  return { trackingAccount: flags.tracking };
}

function withThrottle(
  flags: ThrottleFlags,
  env: CommandEnv,
  fn: (admin: ReturnType<typeof createThrottleAdmin>) => Promise<void>,
): Promise<void> {
  return withDatabase(env.io, flags, ['iredapd'], ({ storage }) =>
    fn(createThrottleAdmin(storage.throttle, env.io.now === undefined ? {} : { now: env.io.now })),
  );
}

async function list(flags: ThrottleFlags, env: CommandEnv): Promise<void> {
  const filter = {
    ...(flags.account === undefined ? {} : { account: account(flags.account) }),
    ...(flags.kind === undefined ? {} : { kind: kind(flags.kind) }),
  };
  await withThrottle(flags, env, async (admin) => {
    const settings = await admin.list(filter);
    if (settings.length === 0) line(env.io.stdout, '* No throttle settings.');
    else printSettings(env.io, settings);
  });
}

async function set(flags: ThrottleFlags & { account: string; kind: string }, env: CommandEnv): Promise<void> {
  const target = { account: account(flags.account), kind: kind(flags.kind) };
  const given = {
    ...(flags.period === undefined ? {} : { periodSeconds: parsePeriod('--period', flags.period) }),
    ...(flags.msgSize === undefined ? {} : { maxMessageSizeBytes: parseBytes('--msg-size', flags.msgSize) }),
    ...(flags.maxMsgs === undefined ? {} : { maxMessages: parseCount('--max-msgs', flags.maxMsgs) }),
    ...(flags.maxQuota === undefined ? {} : { maxQuotaBytes: parseBytes('--max-quota', flags.maxQuota) }),
    ...(flags.maxRcpts === undefined ? {} : { maxRecipients: parseCount('--max-rcpts', flags.maxRcpts) }),
    ...(flags.priority === undefined ? {} : { priority: parsePriority('--priority', flags.priority) }),
  };
  await withThrottle(flags, env, async (admin) => {
    const existing = await admin.get(target.account, target.kind);
    const periodSeconds = given.periodSeconds ?? existing?.periodSeconds;
    if (periodSeconds === undefined) {
      throw new CliError(
        `A new throttle setting needs --period (for example --period 1h). Nothing was changed.`,
      );
    }
    // Only the given values change; a new setting gets -1 (inherit) for the rest and its account's priority.
    const stored = await admin.set({
      ...target,
      periodSeconds,
      maxMessageSizeBytes: given.maxMessageSizeBytes ?? existing?.maxMessageSizeBytes ?? -1,
      maxMessages: given.maxMessages ?? existing?.maxMessages ?? -1,
      maxQuotaBytes: given.maxQuotaBytes ?? existing?.maxQuotaBytes ?? -1,
      maxRecipients: given.maxRecipients ?? existing?.maxRecipients ?? -1,
      ...(given.priority === undefined
        ? existing === undefined
          ? {}
          : { priority: existing.priority }
        : { priority: given.priority }),
    });
    const verb = existing === undefined ? 'Created' : 'Updated';
    line(env.io.stdout, `* ${verb} throttle setting: ${stored.account} (${stored.kind})`);
    printSettings(env.io, [stored]);
  });
}

async function remove(
  flags: ThrottleFlags & { account: string; kind: string },
  env: CommandEnv,
): Promise<void> {
  const target = { account: account(flags.account), kind: kind(flags.kind) };
  await withThrottle(flags, env, async (admin) => {
    const deleted = await admin.delete(target.account, target.kind);
    line(
      env.io.stdout,
      deleted
        ? `* Deleted throttle setting: ${target.account} (${target.kind}), with its counters.`
        : `* No throttle setting for ${target.account} (${target.kind}).`,
    );
  });
}

async function counters(flags: ThrottleFlags, env: CommandEnv): Promise<void> {
  const query = counterQuery(flags);
  await withThrottle(flags, env, async (admin) => {
    const views = await admin.counters(query);
    if (views.length === 0) {
      line(env.io.stdout, '* No counters.');
      return;
    }
    const columns: TextColumn[] = [
      { title: 'account' },
      { title: 'kind' },
      { title: 'tracking' },
      { title: 'messages', right: true },
      { title: 'bytes', right: true },
      { title: 'window start (UTC)' },
      { title: 'window end (UTC)' },
      { title: 'state' },
    ];
    const rows = views.map((v) => [
      v.setting?.account ?? `(setting ${v.settingId} is gone)`,
      v.setting?.kind ?? '',
      v.trackingAccount,
      String(v.messages),
      String(v.bytes),
      utcTime(v.windowStartAt),
      utcTime(v.windowEndsAt),
      v.ended ? 'ended' : 'current',
    ]);
    line(env.io.stdout, formatTable(columns, rows));
  });
}

async function reset(flags: ThrottleFlags, env: CommandEnv): Promise<void> {
  const query = counterQuery(flags);
  await withThrottle(flags, env, async (admin) => {
    const n = await admin.resetCounters(query);
    line(env.io.stdout, `* Reset ${n} ${n === 1 ? 'counter' : 'counters'}.`);
  });
}

async function fixPriorities(flags: ThrottleFlags, env: CommandEnv): Promise<void> {
  await withThrottle(flags, env, async (admin) => {
    if ((await admin.list()).length === 0) {
      line(env.io.stdout, 'No throttle settings, no need to fix. Skip.');
      return;
    }
    const { fixed, skipped } = await admin.fixPriorities();
    for (const f of fixed) {
      line(
        env.io.stdout,
        `Fixed throttle priority: account=${f.setting.account}, priority: ${f.setting.priority} -> ${f.priority}.`,
      );
    }
    for (const s of skipped) {
      line(
        env.io.stderr,
        `* Skipped throttle setting id=${s.id}: account ${JSON.stringify(s.account)} is not in canonical form ` +
          '(fix it by hand or re-create it with "throttle set").',
      );
    }
  });
}

/**
 * Register `throttle` and its subcommands (`list`, `set`, `delete`, `counters`, `reset`, `fix-priorities`).
 *
 * @example
 * ```ts
 * registerThrottleCommand(program, env);
 * await program.parseAsync(
 *   ['throttle', 'set', '--account', '@example.com', '--kind', 'outbound', '--period', '1h', '--max-msgs', '500'],
 *   { from: 'user' },
 * );
 * ```
 */
export function registerThrottleCommand(program: Command, env: CommandEnv): Command {
  const throttle = program
    .command('throttle')
    .summary('throttle settings and counters (iRedAPD has no tool for this)')
    .description(
      'Manage throttle settings (iRedAPD table throttle) and their counters (throttle_tracking). ' +
        'iRedAPD has no command for this; its web panel writes the same rows.',
    )
    .addHelpText('after', EXAMPLES);

  addDatabaseOptions(
    throttle
      .command('list')
      .description('show the throttle settings, optionally of one account and/or kind')
      .option('--account <account>', 'only this account')
      .option('--kind <kind>', `only this kind: ${KINDS_TEXT}`),
  ).action((flags: ThrottleFlags) => list(flags, env));

  addDatabaseOptions(
    throttle
      .command('set')
      .description(
        'create or change the setting of an account and kind; only the values given change ' +
          '(a new setting gets -1, inherit, for the others)',
      )
      .requiredOption('--account <account>', `who it applies to: ${ACCOUNT_FORMS}`)
      .requiredOption('--kind <kind>', KINDS_TEXT)
      .option(
        '--period <period>',
        'window length: seconds or 30m, 1h, 1d (needed for a new setting; 0 disables)',
      )
      .option('--msg-size <bytes>', 'largest single message (msg_size): bytes or 25M')
      .option('--max-msgs <count>', 'messages (counted as recipients) per period (max_msgs)')
      .option('--max-quota <bytes>', 'bytes per period (max_quota): bytes or 1G')
      .option('--max-rcpts <count>', 'recipients of one message (max_rcpts)')
      .option('--priority <n>', "0-255; default: the account form's priority (user 100 … @. 0)"),
  )
    .addHelpText('after', `\n${LIMITS_LEGEND}`)
    .action((flags: ThrottleFlags & { account: string; kind: string }) => set(flags, env));

  addDatabaseOptions(
    throttle
      .command('delete')
      .description('delete the setting of an account and kind, with its counters')
      .requiredOption('--account <account>', 'the account')
      .requiredOption('--kind <kind>', KINDS_TEXT),
  ).action((flags: ThrottleFlags & { account: string; kind: string }) => remove(flags, env));

  for (const [name, description, action] of [
    ['counters', 'show counters: of a setting (--account and --kind) and/or of a tracking key', counters],
    ['reset', 'delete counters, so the next message starts a new window', reset],
  ] as const) {
    addDatabaseOptions(
      throttle
        .command(name)
        .description(description)
        .option('--account <account>', "the setting's account (with --kind)")
        .option('--kind <kind>', `the setting's kind: ${KINDS_TEXT}`)
        .option('--tracking <key>', 'the tracking key: a sender or recipient address, or a client IP'),
    ).action((flags: ThrottleFlags) => action(flags, env));
  }

  addDatabaseOptions(
    throttle
      .command('fix-priorities')
      .alias('fix_throttle_priority')
      .description("give every setting its account form's priority (iRedAPD's fix_throttle_priority.py)"),
  ).action((flags: ThrottleFlags) => fixPriorities(flags, env));

  return throttle;
}
