/**
 * Runs one plugin's `check` under its deadline and turns whatever happens into a trace entry.
 */

import { assertDecision } from './decision.ts';
import { PolicydError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { ErrorPolicy, PolicyContext, PolicyPlugin } from './plugin.ts';
import type { TraceEntry } from './policy.ts';
import type { PolicyRequest } from './request.ts';
import type { SessionCache } from './session-cache.ts';

/** A validated plugin with its effective settings, computed once by `createPolicy`. */
export interface PluginSlot {
  /** The plugin. */
  readonly plugin: PolicyPlugin;
  /** Its name. */
  readonly name: string;
  /** Logger bound to `{ plugin: name }`. */
  readonly log: Logger;
  /** Deadline of one `check`: the plugin's `timeoutMs` or the policy's `pluginTimeoutMs`. */
  readonly timeoutMs: number;
  /** Error policy: the plugin's `onError` or the policy's `onPluginError`. */
  readonly onError: ErrorPolicy;
}

/** What one evaluation shares between the plugins it runs. */
export interface EvaluationScope {
  /** The request being evaluated. */
  readonly request: PolicyRequest;
  /** Where the request's session Map comes from. */
  readonly sessions: SessionCache;
  /** The policy's clock. */
  readonly now: () => number;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** The session Map, fetched on first use so requests whose plugins ignore it cost nothing. */
  session: Map<string, unknown> | undefined;
}

/**
 * The context of one `check`. The AbortController behind `signal` is only created when the plugin reads
 * `signal`, so synchronous plugins that ignore it cost one small object. `signal` and `session` are prototype
 * getters (an object literal with per-instance getters measured several times slower): destructuring works,
 * `{ ...ctx }` drops them.
 */
class CheckContext implements PolicyContext {
  readonly log: Logger;
  readonly now: () => number;
  readonly #scope: EvaluationScope;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(slot: PluginSlot, scope: EvaluationScope) {
    this.log = slot.log;
    this.now = scope.now;
    this.#scope = scope;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get session(): Map<string, unknown> {
    const scope = this.#scope;
    if (scope.session === undefined) scope.session = scope.sessions.get(scope.request.instance);
    return scope.session;
  }

  /** Abort `signal`, now if it exists, else as soon as the plugin reads it. */
  abort(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** The message of an error, or the thrown value as text (never throws itself). */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  try {
    return String(cause);
  } catch {
    return Object.prototype.toString.call(cause);
  }
}

function failure(slot: PluginSlot, cause: unknown, start: number): TraceEntry {
  const error = new PolicydError(
    'POLICYD_ERR_PLUGIN_FAILED',
    `plugin "${slot.name}" failed: ${describeCause(cause)}`,
    {
      plugin: slot.name,
      cause,
    },
  );
  return { plugin: slot.name, outcome: 'failed', error, durationMs: performance.now() - start };
}

function answered(slot: PluginSlot, value: unknown, start: number): TraceEntry {
  let decision: ReturnType<typeof assertDecision>;
  try {
    decision = assertDecision(value);
  } catch (cause) {
    const message = `plugin "${slot.name}" returned an invalid decision: ${describeCause(cause)}`;
    const error = new PolicydError('POLICYD_ERR_INVALID_DECISION', message, {
      plugin: slot.name,
      value,
      cause,
    });
    return { plugin: slot.name, outcome: 'failed', error, durationMs: performance.now() - start };
  }
  const outcome = decision.action === 'DUNNO' ? 'dunno' : 'decided';
  return { plugin: slot.name, outcome, decision, durationMs: performance.now() - start };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** Wait for an asynchronous answer, bounded by the plugin's deadline and the caller's signal. */
function settle(
  slot: PluginSlot,
  scope: EvaluationScope,
  ctx: CheckContext,
  pending: PromiseLike<unknown>,
  start: number,
): Promise<TraceEntry> {
  return new Promise((resolve, reject) => {
    let done = false;
    const caller = scope.signal;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
      return true;
    };
    const onCallerAbort = (): void => {
      if (!finish()) return;
      ctx.abort(caller?.reason);
      reject(caller?.reason);
    };
    // Synchronous work before the promise was returned already used part of the budget.
    const remaining = Math.max(0, slot.timeoutMs - (performance.now() - start));
    const timer = setTimeout(() => {
      if (!finish()) return;
      const message = `plugin "${slot.name}" did not answer within ${slot.timeoutMs} ms`;
      const error = new PolicydError('POLICYD_ERR_PLUGIN_TIMEOUT', message, {
        plugin: slot.name,
        value: slot.timeoutMs,
      });
      ctx.abort(error);
      resolve({ plugin: slot.name, outcome: 'timeout', error, durationMs: performance.now() - start });
    }, remaining);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    if (caller?.aborted === true) onCallerAbort();
    // These handlers stay attached after a timeout, so a late rejection is handled (and ignored), never unhandled.
    Promise.resolve(pending).then(
      (value) => {
        if (finish()) resolve(answered(slot, value, start));
      },
      (cause: unknown) => {
        if (finish()) resolve(failure(slot, cause, start));
      },
    );
  });
}

/**
 * Run `slot`'s check on the scope's request; `start` is the `performance.now()` the run counts from (the
 * policy passes the previous plugin's end, so one clock read serves both). Returns the trace entry directly when the check answered
 * synchronously (no timer, no AbortController), else a promise of it. A throw, a rejection, an invalid decision
 * or a missed deadline becomes a `failed` or `timeout` entry carrying a coded {@link PolicydError}; the promise
 * rejects only with the caller's abort reason.
 */
export function runPlugin(
  slot: PluginSlot,
  scope: EvaluationScope,
  start: number = performance.now(),
): TraceEntry | Promise<TraceEntry> {
  const ctx = new CheckContext(slot, scope);
  let result: unknown;
  try {
    result = slot.plugin.check(scope.request, ctx);
  } catch (cause) {
    return failure(slot, cause, start);
  }
  return isThenable(result) ? settle(slot, scope, ctx, result, start) : answered(slot, result, start);
}
