/**
 * The values of `policyd-admin throttle set`: a period in seconds or with a unit (`90s`, `30m`, `1h`, `1d`),
 * byte limits with an optional binary unit (`512K`, `25M`, `1G`: K = 1024 bytes), and counts. Limits take
 * iRedAPD's special values: `-1` inherits from the next lower-priority setting, `0` means no limit.
 */

import { CliError } from './io.ts';

const PERIOD_UNITS: Readonly<Record<string, number>> = Object.freeze({
  '': 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
});
const SIZE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
});
const LIMIT_HINT = '-1 to inherit, 0 for no limit';

function invalid(flag: string, value: string, expected: string): CliError {
  return new CliError(`Invalid ${flag}: ${JSON.stringify(value)} (expected ${expected}).`);
}

function scaled(
  flag: string,
  value: string,
  units: Readonly<Record<string, number>>,
  expected: string,
): number {
  const match = /^(\d+)\s*([a-z]?)$/i.exec(value.trim());
  const unit = units[(match?.[2] ?? '').toLowerCase()];
  const n = match === null || unit === undefined ? Number.NaN : Number(match[1]) * unit;
  if (!Number.isSafeInteger(n)) throw invalid(flag, value, expected);
  return n;
}

/**
 * `--period`: seconds (`3600`) or a number with `s`, `m`, `h` or `d`; `0` disables the setting.
 *
 * @throws CliError naming the flag and the value
 */
export function parsePeriod(flag: string, value: string): number {
  return scaled(flag, value, PERIOD_UNITS, 'seconds, or a number with s, m, h or d such as 1h; 0 disables');
}

/**
 * `--msg-size` / `--max-quota`: bytes, or a number with K, M or G (1024-based); or -1 / 0.
 *
 * @throws CliError naming the flag and the value
 */
export function parseBytes(flag: string, value: string): number {
  if (value.trim() === '-1') return -1;
  return scaled(flag, value, SIZE_UNITS, `bytes, or a number with K, M or G such as 25M; ${LIMIT_HINT}`);
}

/**
 * `--max-msgs` / `--max-rcpts`: a count, or -1 / 0.
 *
 * @throws CliError naming the flag and the value
 */
export function parseCount(flag: string, value: string): number {
  if (value.trim() === '-1') return -1;
  return scaled(flag, value, { '': 1 }, `a number; ${LIMIT_HINT}`);
}

/**
 * `--priority`: 0–255.
 *
 * @throws CliError naming the flag and the value
 */
export function parsePriority(flag: string, value: string): number {
  const n = scaled(flag, value, { '': 1 }, 'a number from 0 to 255');
  if (n > 255) throw invalid(flag, value, 'a number from 0 to 255');
  return n;
}
