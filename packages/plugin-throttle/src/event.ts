/**
 * The "limit exceeded" event: what it carries, and how it is delivered (after the decision, never awaited by
 * it, errors logged).
 */

import type { Logger, ThrottleKind, ThrottleWindow } from '@policyd/core';
import type { ThrottleRule } from './rules.ts';

/** One rule and the setting that owns it, as iRedAPD lists them in its notification ("Detailed setting"). */
export interface ThrottleEventRule {
  /** The limit. */
  readonly rule: ThrottleRule;
  /** Its value (0 = unlimited). */
  readonly limit: number;
  /** The owning setting's id. */
  readonly settingId: number;
  /** The owning setting's account. */
  readonly account: string;
}

/**
 * A `max_msgs` or `max_quota` limit rejected a message for the first time in its counter's window. Everything
 * iRedAPD's notification e-mail says is here.
 */
export interface ThrottleLimitEvent {
  /** Which limit: `max_msgs` (messages, counted as recipients) or `max_quota` (bytes). */
  readonly rule: Extract<ThrottleRule, 'max_msgs' | 'max_quota'>;
  /** The limit's value (`msgs` or bytes). */
  readonly limit: number;
  /** Which side: `outbound`, `external` (senders) or `inbound` (recipients). */
  readonly kind: ThrottleKind;
  /** The account of the setting that owns the limit (`user@example.com`, `@example.com`, `@.`, an IP …). */
  readonly account: string;
  /** The setting's id (`throttle.id`). */
  readonly settingId: number;
  /** The setting's period in seconds. */
  readonly periodSeconds: number;
  /** The throttled user: the SASL login or envelope sender, or the recipient; `''` when there is none. */
  readonly user: string;
  /** The counter's key (`throttle_tracking.account`): the user, the client IP, or the setting's own account. */
  readonly trackingAccount: string;
  /** The SMTP client's address. */
  readonly clientAddress: string;
  /** The counter as the rejected message found it. */
  readonly counters: ThrottleWindow;
  /** The rejected message: its size in bytes and its recipient count. */
  readonly message: { readonly sizeBytes: number; readonly recipients: number };
  /** Every rule owned on this side, with its setting (iRedAPD's "Detailed setting" line). */
  readonly rules: readonly ThrottleEventRule[];
  /** When, in milliseconds since the epoch. */
  readonly at: number;
}

/** Delivers events without holding up decisions, and remembers deliveries still running. */
export interface EventDispatcher {
  /** Start delivering one event; returns at once. */
  dispatch(event: ThrottleLimitEvent, log: Logger): void;
  /** Wait for deliveries still running (for `close()`). */
  drain(): Promise<void>;
}

/** A dispatcher for `onLimitExceeded`; a no-op when there is no callback. */
export function createEventDispatcher(
  callback: ((event: ThrottleLimitEvent) => void | Promise<void>) | undefined,
): EventDispatcher {
  const running = new Set<Promise<void>>();
  return {
    dispatch(event, log) {
      if (callback === undefined) return;
      // Started in a microtask so that a slow or throwing callback never delays or changes the reply.
      const delivery = Promise.resolve()
        .then(() => callback(event))
        .then(
          () => undefined,
          (err: unknown) => {
            log.warn(
              { err, rule: event.rule, account: event.account, user: event.user },
              'throttle: onLimitExceeded failed',
            );
          },
        );
      running.add(delivery);
      void delivery.finally(() => running.delete(delivery));
    },
    async drain() {
      await Promise.all([...running]);
    },
  };
}
