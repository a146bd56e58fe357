/**
 * One throttle plugin under test: a backend from the factory, a policy with a fixed clock and a recording
 * logger, a round-trip meter around the stores, and helpers to send END-OF-MESSAGE requests.
 */

import {
  createPolicy,
  type Decision,
  type Evaluation,
  type Policy,
  type ThrottleSettingInput,
} from '@policyd/core';
import { evaluateRequest, type FixedClock, fixedClock, type RequestAttributes } from '@policyd/core/testing';
import { afterEach, beforeEach, expect } from 'vitest';
import { type ThrottleLimitEvent, type ThrottleOptions, throttle } from '../src/index.ts';
import {
  createRoundTripMeter,
  type RecordingLogger,
  type RoundTripMeter,
  recordingLogger,
  type ThrottleBackendFactory,
  type ThrottleTestBackend,
} from './harness.ts';

/** A whole second, as stores keep seconds: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);

/**
 * The request every test starts from: an unauthenticated sender on another domain, one recipient, 1000 bytes,
 * at END-OF-MESSAGE (recipient set, since there is one recipient).
 */
export const EOM: RequestAttributes = Object.freeze({
  protocol_state: 'END-OF-MESSAGE',
  sender: 'sender@example.net',
  recipient: 'user@example.com',
  recipient_count: 1,
  size: 1000,
  client_address: '192.0.2.10',
  sasl_username: '',
});

/** A running plugin under test. */
export interface ThrottleRig {
  /** The stores, unwrapped (admin calls are not metered). */
  readonly backend: ThrottleTestBackend;
  /** The clock of the policy. */
  readonly clock: FixedClock;
  /** Measures the plugin's store calls. */
  readonly meter: RoundTripMeter;
  /** Lines the plugin logged. */
  readonly log: RecordingLogger;
  /** Events delivered to `onLimitExceeded`. */
  readonly events: ThrottleLimitEvent[];
  /** The policy. */
  readonly policy: Policy;
  /** Store a setting (through the store API). */
  setting(input: ThrottleSettingInput): Promise<number>;
  /** Evaluate an END-OF-MESSAGE request (over {@link EOM}); fails the test when the plugin failed. */
  send(attrs?: RequestAttributes): Promise<Decision>;
  /** What the plugin itself answered (DUNNO with its reason), from the trace. */
  said(attrs?: RequestAttributes): Promise<Decision | undefined>;
  /** Like `send`, with the whole evaluation. */
  evaluate(attrs?: RequestAttributes): Promise<Evaluation>;
  /** Rebuild the policy with other options (same backend, clock and event list). */
  reconfigure(options?: Partial<ThrottleOptions>): Promise<void>;
}

/**
 * Register hooks that build a fresh rig per test, and return a getter for it.
 *
 * @param options - plugin options for every test of the block (store and domains are filled in)
 */
export function useRig(
  factory: ThrottleBackendFactory,
  options: Partial<ThrottleOptions> = {},
): () => ThrottleRig {
  let current: ThrottleRig | undefined;
  let policies: Policy[] = [];
  beforeEach(async () => {
    const backend = await factory();
    const clock = fixedClock(T0);
    const meter = createRoundTripMeter();
    const log = recordingLogger();
    const events: ThrottleLimitEvent[] = [];
    const build = async (more: Partial<ThrottleOptions>): Promise<Policy> => {
      const policy = await createPolicy({
        plugins: [
          throttle({
            store: meter.wrap(backend.throttle, 'throttle'),
            domains: meter.wrap(backend.domains, 'domains'),
            onLimitExceeded: (event) => {
              events.push(event);
            },
            ...options,
            ...more,
          }),
        ],
        now: clock.now,
        logger: log,
      });
      policies.push(policy);
      return policy;
    };
    let policy = await build({});
    const evaluate = async (attrs: RequestAttributes = {}): Promise<Evaluation> => {
      const evaluation = await evaluateRequest(policy, { ...EOM, ...attrs });
      const failed = evaluation.trace.find((t) => t.outcome === 'failed' || t.outcome === 'timeout');
      expect(failed?.error, 'the throttle plugin failed').toBeUndefined();
      return evaluation;
    };
    current = {
      backend,
      clock,
      meter,
      log,
      events,
      get policy() {
        return policy;
      },
      setting: async (input) => (await backend.throttle.setSetting(input)).id,
      evaluate,
      send: async (attrs) => (await evaluate(attrs)).decision,
      said: async (attrs) => (await evaluate(attrs)).trace[0]?.decision,
      reconfigure: async (more = {}) => {
        policy = await build(more);
      },
    };
  });
  afterEach(async () => {
    const rig = current;
    current = undefined;
    for (const policy of policies) await policy.close();
    policies = [];
    await rig?.backend.close();
  });
  return () => {
    if (current === undefined) throw new Error('rig used outside a test');
    return current;
  };
}

/** iRedAPD's rejection for `max_msgs` and `max_quota`. */
export const QUOTA = 'Throttling quota exceeded';

/** The text of a decision that has one (`REJECT <text>`), else `undefined`. */
export function textOf(decision: Decision): string | undefined {
  return 'text' in decision ? decision.text : undefined;
}
