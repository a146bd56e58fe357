/**
 * What the shared throttle test suites need from a storage backend (the two stores, vmail seeding, a close),
 * and the test tools they share: a round-trip meter and a log recorder. Memory and SQL backends each provide a
 * factory; the suites never know which one they run on.
 */

import {
  createMemoryStores,
  type DomainSeed,
  type DomainStore,
  type Logger,
  type ThrottleStore,
} from '@policyd/core';

/** A fresh, empty pair of stores for one test. */
export interface ThrottleTestBackend {
  /** The throttle store under test. */
  readonly throttle: ThrottleStore;
  /** The domain store under test. */
  readonly domains: DomainStore;
  /** Insert raw vmail `domain` / `alias_domain` rows. */
  seedDomains(rows: DomainSeed): Promise<void>;
  /** Release the backend (drop the database). */
  close(): Promise<void>;
}

/** Creates a fresh backend; called once per test. */
export type ThrottleBackendFactory = () => Promise<ThrottleTestBackend>;

/** The memory stores of `@policyd/core`. */
export const memoryBackend: ThrottleBackendFactory = async () => {
  const stores = createMemoryStores();
  return {
    throttle: stores.throttle,
    domains: stores.domains,
    seedDomains: async (rows) => stores.domains.seed(rows),
    close: async () => {},
  };
};

/**
 * Measures store calls: how many per method, and the round trips they cost, where a call issued while another
 * one is still pending shares its round trip (a call's depth is 1 + the deepest call that had ended before it
 * started).
 */
export interface RoundTripMeter {
  /** Calls so far, by `label.method`. */
  readonly calls: Map<string, number>;
  /** Sequential round trips of the calls so far. */
  roundTrips(): number;
  /** Forget everything. */
  reset(): void;
  /** Wrap a store so that its calls are measured under `label`. */
  wrap<T extends object>(store: T, label: string): T;
}

/** A new round-trip meter. */
export function createRoundTripMeter(): RoundTripMeter {
  const calls = new Map<string, number>();
  let depth = 0;
  // Depth of the deepest call that has completed so far; a call started now waits for nothing deeper.
  let completed = 0;
  const meter: RoundTripMeter = {
    calls,
    roundTrips: () => depth,
    reset() {
      calls.clear();
      depth = 0;
      completed = 0;
    },
    wrap(store, label) {
      return new Proxy(store, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            const key = `${label}.${String(property)}`;
            calls.set(key, (calls.get(key) ?? 0) + 1);
            const mine = completed + 1;
            depth = Math.max(depth, mine);
            try {
              return await Reflect.apply(value, target, args);
            } finally {
              completed = Math.max(completed, mine);
            }
          };
        },
      });
    },
  };
  return meter;
}

/** One recorded log line. */
export interface LogLine {
  /** `debug`, `info`, `warn` or `error`. */
  readonly level: string;
  /** The fields, bindings included. */
  readonly fields: Record<string, unknown>;
  /** The message. */
  readonly message: string;
}

/** A logger that records every line. */
export interface RecordingLogger extends Logger {
  /** Lines so far. */
  readonly lines: LogLine[];
}

/** A new recording logger. */
export function recordingLogger(
  bindings: Record<string, unknown> = {},
  lines: LogLine[] = [],
): RecordingLogger {
  const at =
    (level: string) =>
    (fieldsOrMessage: object | string, message?: string): void => {
      if (typeof fieldsOrMessage === 'string') {
        lines.push({ level, fields: { ...bindings }, message: fieldsOrMessage });
      } else {
        lines.push({ level, fields: { ...bindings, ...fieldsOrMessage }, message: message ?? '' });
      }
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger({ ...bindings, ...more }, lines),
  };
}
