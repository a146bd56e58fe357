/**
 * The policy: plugins in their effective order, evaluated request by request, with a trace of every run.
 */

import { assertDecision, Decision } from './decision.ts';
import { PolicydError } from './errors.ts';
import { type Logger, silentLogger } from './logger.ts';
import type { ErrorPolicy, PolicyPlugin } from './plugin.ts';
import { describeCause, type EvaluationScope, type PluginSlot, runPlugin } from './plugin-runner.ts';
import {
  DEFAULT_PLUGIN_STATES,
  describePlugins,
  PROTOCOL_STATES,
  showValue,
  sortPlugins,
} from './registry.ts';
import type { PolicyRequest } from './request.ts';
import { createSessionCache, type SessionCacheOptions } from './session-cache.ts';

/** Options of {@link createPolicy}. */
export interface PolicyOptions {
  /** The plugins, in registration order; they run highest `priority` first. */
  readonly plugins: readonly PolicyPlugin[];
  /** pino-compatible logger; default {@link silentLogger}. */
  readonly logger?: Logger;
  /** Deadline of one plugin `check` in milliseconds, unless the plugin sets `timeoutMs`; default 5 000. */
  readonly pluginTimeoutMs?: number;
  /** What a failing plugin means, unless the plugin sets `onError`; default `'skip'`. */
  readonly onPluginError?: ErrorPolicy;
  /** The answer under `'defer'`; default `451 4.3.0 Temporary policy service failure, try again later`. */
  readonly deferDecision?: Decision;
  /** Clock in milliseconds since the epoch, given to plugins as `ctx.now`; default `Date.now`. */
  readonly now?: () => number;
  /** Bounds of the per-message session data (`ctx.session`); default 10 000 instances, one hour. */
  readonly sessionCache?: SessionCacheOptions;
}

/** How one plugin's run ended: it decided, said DUNNO, failed (threw, rejected, bad decision) or timed out. */
export type TraceOutcome = 'decided' | 'dunno' | 'failed' | 'timeout';

/** One plugin's run in an {@link Evaluation}. */
export interface TraceEntry {
  /** Plugin name. */
  readonly plugin: string;
  /** How the run ended. */
  readonly outcome: TraceOutcome;
  /** The plugin's decision, for `decided` and `dunno`. */
  readonly decision?: Decision;
  /** The coded error, for `failed` and `timeout`. */
  readonly error?: PolicydError;
  /** Time from calling `check` to its answer or deadline, in milliseconds. */
  readonly durationMs: number;
}

/** The result of evaluating one request. */
export interface Evaluation {
  /** The final decision; `Decision.dunno()` when no plugin decided. */
  readonly decision: Decision;
  /** `true` when a plugin failed under `'disconnect'`: close the connection without a reply. */
  readonly disconnect: boolean;
  /** The plugin whose decision or failure ended the evaluation; `undefined` when all said DUNNO. */
  readonly decidedBy: string | undefined;
  /** The plugins that ran (after state filtering), in order. */
  readonly trace: readonly TraceEntry[];
  /** Total evaluation time in milliseconds. */
  readonly durationMs: number;
}

/** A set of plugins ready to evaluate requests. Made by {@link createPolicy}. */
export interface Policy {
  /** The plugins in their effective order (frozen). */
  readonly plugins: readonly PolicyPlugin[];
  /**
   * Run the plugins that declare the request's protocol state, in order, until one returns a decision other
   * than DUNNO. Plugin failures never reject: they are handled by the plugin's error policy. Rejects with
   * `POLICYD_ERR_CLOSED` after {@link Policy.close}, and with `signal.reason` when `signal` aborts first
   * (the running plugin's `ctx.signal` is aborted too).
   */
  evaluate(request: PolicyRequest, options?: { readonly signal?: AbortSignal }): Promise<Evaluation>;
  /** The effective order, one line per plugin: priority, name, states. */
  describe(): string;
  /** Call every plugin's `close()` in reverse order, once; later calls return the same promise. Never rejects. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const ALL_DUNNO = Decision.dunno();
const DISCONNECT = Decision.dunno('disconnect');
const NO_SLOTS: readonly PluginSlot[] = Object.freeze([]);

function invalidOption(name: string, expected: string, value: unknown, cause?: unknown): never {
  const shown = showValue(value);
  throw new PolicydError(
    'POLICYD_ERR_INVALID_OPTION',
    `${name} must be ${expected}, got ${shown}`,
    cause === undefined ? { value } : { value, cause },
  );
}

function checkOptions(options: PolicyOptions): void {
  if (typeof options !== 'object' || options === null) {
    invalidOption('createPolicy options', 'an object', options);
  }
  const { logger, pluginTimeoutMs: t, onPluginError: e, now } = options;
  if (logger !== undefined && typeof logger?.child !== 'function') {
    invalidOption('logger', 'a pino-compatible logger', logger);
  }
  if (t !== undefined && !(typeof t === 'number' && t > 0 && t < Infinity)) {
    invalidOption('pluginTimeoutMs', 'a positive finite number of milliseconds', t);
  }
  if (e !== undefined && e !== 'skip' && e !== 'defer' && e !== 'disconnect') {
    invalidOption('onPluginError', "'skip', 'defer' or 'disconnect'", e);
  }
  if (now !== undefined && typeof now !== 'function') invalidOption('now', 'a function', now);
  if (options.deferDecision !== undefined) {
    try {
      assertDecision(options.deferDecision);
    } catch (cause) {
      invalidOption('deferDecision', 'a valid decision', options.deferDecision, cause);
    }
  }
}

async function closeSlots(slots: readonly PluginSlot[], logger: Logger): Promise<void> {
  for (const { plugin, name } of slots.toReversed()) {
    try {
      await plugin.close?.();
    } catch (cause) {
      logger.warn(
        { plugin: name, code: 'POLICYD_ERR_PLUGIN_FAILED', err: cause },
        `plugin "${name}" failed to close`,
      );
    }
  }
}

/**
 * Validate the options and plugins, fix the plugins' order and run their `init()` in that order.
 *
 * Throws `POLICYD_ERR_INVALID_OPTION` or `POLICYD_ERR_DUPLICATE_PLUGIN` for bad options or plugins, and
 * `POLICYD_ERR_PLUGIN_FAILED` (naming the plugin) when an `init()` fails, after closing the plugins already
 * initialised.
 *
 * @example
 * ```ts
 * const policy = await createPolicy({ plugins: [rejectNullSender(), greylisting({ store })] });
 * console.log(policy.describe());
 * const { decision, trace } = await policy.evaluate(request);
 * ```
 */
export async function createPolicy(options: PolicyOptions): Promise<Policy> {
  checkOptions(options);
  const plugins = sortPlugins(options.plugins);
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const timeoutMs = options.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const onPluginError = options.onPluginError ?? 'skip';
  const deferDecision =
    options.deferDecision ??
    Decision.reply(451, 'Temporary policy service failure, try again later', '4.3.0');
  const sessions = createSessionCache(options.sessionCache, now);

  const slots: PluginSlot[] = plugins.map((plugin) => ({
    plugin,
    name: plugin.name,
    log: logger.child({ plugin: plugin.name }),
    timeoutMs: plugin.timeoutMs ?? timeoutMs,
    onError: plugin.onError ?? onPluginError,
  }));
  // Filtering by state is a lookup per request, not a scan.
  const byState = new Map<string, readonly PluginSlot[]>(
    PROTOCOL_STATES.map((state) => [
      state,
      Object.freeze(slots.filter((s) => (s.plugin.states ?? DEFAULT_PLUGIN_STATES).includes(state))),
    ]),
  );

  for (const [index, slot] of slots.entries()) {
    try {
      await slot.plugin.init?.({ log: slot.log, now });
    } catch (cause) {
      await closeSlots(slots.slice(0, index), logger);
      const message = `plugin "${slot.name}" failed to initialise: ${describeCause(cause)}`;
      throw new PolicydError('POLICYD_ERR_PLUGIN_FAILED', message, {
        plugin: slot.name,
        cause,
      });
    }
  }

  let closing: Promise<void> | undefined;

  const evaluate = async (
    request: PolicyRequest,
    opts?: { readonly signal?: AbortSignal },
  ): Promise<Evaluation> => {
    if (closing !== undefined) {
      throw new PolicydError('POLICYD_ERR_CLOSED', 'evaluate() was called after the policy was closed');
    }
    const start = performance.now();
    const signal = opts?.signal;
    signal?.throwIfAborted();
    const scope: EvaluationScope = { request, sessions, now, signal, session: undefined };
    const trace: TraceEntry[] = [];
    let mark = start;
    const done = (decision: Decision, disconnect: boolean, decidedBy: string | undefined): Evaluation => ({
      decision,
      disconnect,
      decidedBy,
      trace,
      durationMs: performance.now() - start,
    });
    for (const slot of byState.get(request.protocolState) ?? NO_SLOTS) {
      signal?.throwIfAborted();
      const run = runPlugin(slot, scope, mark);
      let entry: TraceEntry;
      // A synchronous plugin's end is the next one's start: one clock read per plugin on the hot path.
      if (run instanceof Promise) {
        entry = await run;
        mark = performance.now();
      } else {
        entry = run;
        mark += entry.durationMs;
      }
      trace.push(entry);
      if (entry.outcome === 'dunno') continue;
      if (entry.outcome === 'decided') return done(entry.decision!, false, slot.name);
      const error = entry.error!;
      logger.warn(
        { plugin: slot.name, code: error.code, onError: slot.onError, err: error.cause ?? error },
        error.message,
      );
      if (slot.onError === 'defer') return done(deferDecision, false, slot.name);
      if (slot.onError === 'disconnect') return done(DISCONNECT, true, slot.name);
      mark = performance.now();
    }
    return done(ALL_DUNNO, false, undefined);
  };

  return Object.freeze({
    plugins,
    evaluate,
    describe: () => describePlugins(plugins),
    close: () => {
      closing ??= closeSlots(slots, logger);
      return closing;
    },
  });
}
