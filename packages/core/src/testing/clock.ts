/**
 * A controllable clock for tests: pass `clock.now` wherever policyd takes a `now` function.
 */

/** A clock that only moves when told to. */
export interface FixedClock {
  /** Current time in milliseconds since the epoch. */
  readonly now: () => number;
  /** Move forward by `ms` milliseconds (negative moves back). */
  advance(ms: number): void;
  /** Jump to an absolute time in milliseconds since the epoch. */
  set(ms: number): void;
}

/**
 * Create a clock starting at `startMs` (default 2026-01-01T00:00:00Z).
 *
 * @example
 * ```ts
 * const clock = fixedClock();
 * clock.advance(15 * 60_000); // fifteen minutes later
 * ```
 */
export function fixedClock(startMs: number = Date.UTC(2026, 0, 1)): FixedClock {
  let current = startMs;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (ms) => {
      current = ms;
    },
  };
}
