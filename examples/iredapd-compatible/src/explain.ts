/**
 * `explain`: run one request through the configured plugins and show what each one decided, why, and how long
 * it took — as a dry run. The plugins run for real against the real databases, inside one transaction on the
 * `iredapd` database that is always rolled back: greylisting records no attempt and throttle consumes no
 * counter. Nothing is sent to Postfix, no `smtp_sessions` row is written and no throttle notice is given.
 */

import {
  type DnsResolver,
  type Evaluation,
  type Logger,
  type PolicyRequest,
  type ProtocolState,
  type SmtpSessionRow,
  silentLogger,
  toAction,
  toPolicyRequest,
} from '@policyd/core';
import { knexStorage } from '@policyd/storage-knex';
import type { Knex } from 'knex';
import { buildPolicy } from './build-policy.ts';
import { type DaemonStorage, openDaemonStorage } from './daemon-storage.ts';
import { applyInstallDefaults } from './install-defaults.ts';
import type { PluginSelection } from './plugin-table.ts';
import { type LoadedSettings, loadSettings } from './settings/load-settings.ts';
import { smtpSessionRow } from './smtp-session-row.ts';

/** Options of {@link explainRequest}. */
export interface ExplainOptions {
  /** The request's attributes; `request` and `protocol_state` (RCPT) are filled in when absent. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Settings file, as for the daemon; default the stand-alone defaults. */
  readonly config?: string;
  /** Directory of the default SQLite file; default `./data`. */
  readonly dataDir?: string;
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** DNS for greylisting's SPF bypass; default the system's resolver. */
  readonly dns?: DnsResolver;
  /** Host name amavisd_wblist treats as local; default `os.hostname()`. */
  readonly hostname?: string;
  /** Where plugin and database messages go; default nowhere. */
  readonly logger?: Logger;
}

/** What happened to one enabled plugin. */
export interface ExplainStep {
  /** iRedAPD name. */
  readonly name: string;
  /** Effective priority. */
  readonly priority: number;
  /** States it runs in. */
  readonly states: readonly ProtocolState[];
  /**
   * `decided`, `dunno`, `failed`, `timeout` (it ran); `other-state` (it does not run in this state);
   * `not-run` (an earlier plugin decided).
   */
  readonly outcome: 'decided' | 'dunno' | 'failed' | 'timeout' | 'other-state' | 'not-run';
  /** Its answer as Postfix would get it, when it ran and answered. */
  readonly action?: string;
  /** The plugin's reason, or the error for `failed` / `timeout`. */
  readonly reason?: string;
  /** Time taken, when it ran. */
  readonly durationMs?: number;
}

/** The result of {@link explainRequest}. */
export interface ExplainReport {
  /** The settings used. */
  readonly settings: LoadedSettings;
  /** The request as the server would decode it. */
  readonly request: PolicyRequest;
  /** Every enabled plugin in order. */
  readonly steps: readonly ExplainStep[];
  /** The policy's evaluation. */
  readonly evaluation: Evaluation;
  /** The action Postfix would get. */
  readonly action: string;
  /** The `smtp_sessions` row a real request would write, if any. */
  readonly smtpSession: SmtpSessionRow | undefined;
  /** How the dry run kept the databases unchanged. */
  readonly dryRun: 'rolled-back' | 'no-database';
}

function stepsOf(
  plugins: readonly PluginSelection[],
  request: PolicyRequest,
  evaluation: Evaluation,
): ExplainStep[] {
  const ran = new Map(evaluation.trace.map((entry) => [entry.plugin, entry]));
  return plugins.map((p): ExplainStep => {
    const base = { name: p.name, priority: p.priority, states: p.states };
    const entry = ran.get(p.name);
    if (entry !== undefined) {
      const durationMs = entry.durationMs;
      if (entry.decision !== undefined) {
        return {
          ...base,
          outcome: entry.outcome,
          action: toAction(entry.decision),
          ...(entry.decision.reason === undefined ? {} : { reason: entry.decision.reason }),
          durationMs,
        };
      }
      return { ...base, outcome: entry.outcome, reason: entry.error?.message ?? 'failed', durationMs };
    }
    const inState = (p.states as readonly string[]).includes(request.protocolState);
    return { ...base, outcome: inState ? 'not-run' : 'other-state' };
  });
}

function withDefaults(attributes: ReadonlyMap<string, string>): Map<string, string> {
  const attrs = new Map(attributes);
  if (!attrs.has('request')) attrs.set('request', 'smtpd_access_policy');
  if (!attrs.has('protocol_state')) attrs.set('protocol_state', 'RCPT');
  return attrs;
}

// On the `iredapd` database (and any other database sharing its connection pool, as with SQLite) everything
// runs on `trx`; the other databases are only read by the plugins.
function rolledBackStorage(storage: DaemonStorage, trx: Knex.Transaction): DaemonStorage {
  const sql = storage.sql!;
  const iredapd = sql.databases.iredapd.knex;
  const on = (knex: Knex): Knex => (knex === iredapd ? trx : knex);
  const view = knexStorage({
    iredapd: trx,
    amavisd: on(sql.databases.amavisd.knex),
    vmail: on(sql.databases.vmail.knex),
  });
  return { ...storage, stores: view, smtpSessions: view.smtpSessions, sql: view };
}

/**
 * Explain one request (see the module comment for what is and is not written).
 *
 * @throws PolicydError for invalid settings or attributes (a request without a valid `request` type), or a
 * database that cannot be opened
 *
 * @example
 * ```ts
 * const report = await explainRequest({
 *   attributes: new Map([['sender', 'a@example.net'], ['recipient', 'b@example.com'], ['client_address', '192.0.2.1']]),
 * });
 * console.log(formatExplain(report));
 * ```
 */
export async function explainRequest(options: ExplainOptions): Promise<ExplainReport> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const settings = await loadSettings({
    ...(options.config === undefined ? {} : { file: options.config }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  const { config } = settings;
  const request = toPolicyRequest(withDefaults(options.attributes), {
    recipientDelimiters: config.recipientDelimiters,
  });
  // A SQLite file that does not exist yet is not created: an empty in-memory database with the defaults a
  // first start would write stands in for it.
  const storage = await openDaemonStorage(config, { logger, skipSchemaCheck: true, createSqliteFile: false });
  if (storage.created) await applyInstallDefaults(storage.stores.greylist, logger);
  try {
    const trx =
      storage.sql === undefined ? undefined : await storage.sql.databases.iredapd.knex.transaction();
    try {
      const { policy, order } = await buildPolicy({
        config,
        storage: trx === undefined ? storage : rolledBackStorage(storage, trx),
        logger,
        now,
        ...(options.dns === undefined ? {} : { dns: options.dns }),
        ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
      });
      let evaluation: Evaluation;
      try {
        evaluation = await policy.evaluate(request);
      } finally {
        await policy.close();
      }
      const action = toAction(evaluation.decision);
      return {
        settings,
        request,
        steps: stepsOf(order.plugins, request, evaluation),
        evaluation,
        action,
        smtpSession: storage.disabled.has('iredapd')
          ? undefined
          : smtpSessionRow(request, evaluation.decision, now(), config.smtpSessions),
        dryRun: trx === undefined ? 'no-database' : 'rolled-back',
      };
    } finally {
      await trx?.rollback();
    }
  } finally {
    await storage.close();
  }
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

/**
 * The report as text for a terminal.
 *
 * @example
 * ```ts
 * formatExplain(report);
 * // Request: RCPT from [192.0.2.10], sender@example.net -> user@example.com
 * // Plugins, in order:
 * //   100 reject_null_sender: DUNNO (not authenticated) [0.05 ms]
 * //    80 greylisting: 451 4.7.1 Intentional policy rejection, please try again later (greylisted: …) [1.20 ms]
 * //    60 throttle: skipped, runs at END-OF-MESSAGE
 * //    40 amavisd_wblist: not run, greylisting decided
 * // Action: 451 4.7.1 Intentional policy rejection, please try again later (decided by greylisting)
 * // …
 * ```
 */
export function formatExplain(report: ExplainReport): string {
  const { request, evaluation } = report;
  const lines = [
    `Settings: ${report.settings.file ?? '(none: stand-alone defaults)'}`,
    `Request: ${request.protocolState === 'UNKNOWN' ? (request.attrs.get('protocol_state') ?? '') : request.protocolState} from [${request.clientAddress}], ${request.sender.address || '<>'} -> ${request.recipient.address || '<>'}${request.saslUsername.address === '' ? '' : ` (sasl_username ${request.saslUsername.address})`}`,
    'Plugins, in order:',
  ];
  const width = Math.max(1, ...report.steps.map((s) => String(s.priority).length));
  for (const step of report.steps) {
    const head = `  ${String(step.priority).padStart(width)} ${step.name}:`;
    switch (step.outcome) {
      case 'other-state':
        lines.push(`${head} skipped, runs at ${step.states.join(', ')}`);
        break;
      case 'not-run':
        lines.push(`${head} not run, ${evaluation.decidedBy ?? 'an earlier plugin'} decided`);
        break;
      case 'failed':
      case 'timeout':
        lines.push(
          `${head} ${step.outcome === 'failed' ? 'FAILED' : 'TIMED OUT'}, counts as DUNNO: ${step.reason} [${ms(step.durationMs ?? 0)}]`,
        );
        break;
      default:
        lines.push(
          `${head} ${step.action}${step.reason === undefined ? '' : ` (${step.reason})`} [${ms(step.durationMs ?? 0)}]`,
        );
    }
  }
  if (report.steps.length === 0) lines.push('  (no plugins enabled)');
  lines.push(
    `Action: ${report.action}${evaluation.decidedBy === undefined ? ' (no plugin decided)' : ` (decided by ${evaluation.decidedBy})`} [${ms(evaluation.durationMs)}]`,
    report.smtpSession === undefined
      ? 'smtp_sessions: no row for this answer'
      : `smtp_sessions: a real request would write a row (action ${report.smtpSession.action})`,
    report.dryRun === 'rolled-back'
      ? 'Dry run: nothing was recorded (the database transaction was rolled back).'
      : 'Dry run: no database is in use, nothing was recorded.',
  );
  return `${lines.join('\n')}\n`;
}
