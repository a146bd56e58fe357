/**
 * Time at the store boundary. Store APIs take and return milliseconds since the epoch; stores keep whole
 * seconds, as iRedAPD's tables do (`INT` unix times). Every implementation converts with these two functions so
 * that all of them round the same way.
 */

import { PolicydError } from '../errors.ts';

/**
 * Milliseconds since the epoch → whole unix seconds, rounded down (`1_500` → `1`).
 *
 * @param ms - a time in milliseconds since the epoch
 * @param name - what the value is, for the error message
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `ms` is not a finite number ≥ 0
 */
export function toUnixSeconds(ms: number, name = 'time'): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `${name} must be milliseconds since the epoch, got ${ms}`,
      {
        value: ms,
      },
    );
  }
  return Math.floor(ms / 1000);
}

/** Whole unix seconds → milliseconds since the epoch. */
export function fromUnixSeconds(seconds: number): number {
  return seconds * 1000;
}
