/**
 * The plugin contract: a plugin is a plain object made by a factory.
 */

import type { Decision } from './decision.ts';
import type { Logger } from './logger.ts';
import type { PolicyRequest, ProtocolState } from './request.ts';

/**
 * What happens when a plugin throws, times out or its store fails:
 * - `skip`: log it and go on as if the plugin said DUNNO (iRedAPD's behaviour);
 * - `defer`: answer with the policy's defer decision (a temporary failure);
 * - `disconnect`: close the connection without a reply, so Postfix applies its `default_action`.
 */
export type ErrorPolicy = 'skip' | 'defer' | 'disconnect';

/** Start-up context given to {@link PolicyPlugin.init}. */
export interface PluginInitContext {
  /** Logger bound to the plugin's name. */
  readonly log: Logger;
  /** Current time in milliseconds since the epoch, from the policy's clock. */
  now(): number;
}

/** Per-request context given to {@link PolicyPlugin.check}. */
export interface PolicyContext extends PluginInitContext {
  /** Aborted when the plugin's deadline passes; pass it to I/O so abandoned work stops. */
  readonly signal: AbortSignal;
  /**
   * Data shared by all requests of one message (same `instance`, RCPT … END-OF-MESSAGE), bounded in size
   * and age. Prefix keys with the plugin name. Empty for requests without an `instance`.
   */
  readonly session: Map<string, unknown>;
}

/**
 * A policy plugin.
 *
 * @example
 * ```ts
 * const rejectNullSender = (): PolicyPlugin => ({
 *   name: 'reject_null_sender',
 *   priority: 100,
 *   check: (req) => req.sender.address === '' && req.saslUsername.address !== ''
 *     ? Decision.reject('Policy rejection due to null sender')
 *     : Decision.dunno(),
 * });
 * ```
 */
export interface PolicyPlugin {
  /** Unique name, used in logs, traces and configuration. */
  readonly name: string;
  /** Higher runs first (iRedAPD's direction); default 0; ties keep registration order. */
  readonly priority?: number;
  /** Protocol states the plugin runs in; default `['RCPT']`. */
  readonly states?: readonly ProtocolState[];
  /** Deadline for one `check`, overriding the policy's `pluginTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Error policy for this plugin, overriding the policy's `onPluginError`. */
  readonly onError?: ErrorPolicy;
  /** Decide about one request. Return `Decision.dunno()` to let the next plugin decide. */
  check(request: PolicyRequest, ctx: PolicyContext): Decision | Promise<Decision>;
  /** Called once by `createPolicy`, in priority order, before any request. A throw aborts start-up. */
  init?(ctx: PluginInitContext): void | Promise<void>;
  /** Called once by `Policy.close()`, in reverse order. */
  close?(): void | Promise<void>;
}

/** Identity function that keeps the plugin's literal type; handy for inference in factories. */
export function definePlugin<const P extends PolicyPlugin>(plugin: P): P {
  return plugin;
}
