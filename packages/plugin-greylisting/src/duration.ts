/**
 * Short human durations for decision reasons ("retry too early, 12m 3s left").
 */

const UNITS: readonly (readonly [string, number])[] = Object.freeze([
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
]);

/**
 * A duration in milliseconds as its largest unit and the next one (when not zero), after rounding up to
 * whole seconds:
 * `900_000` → `15m`, `723_400` → `12m 4s`, `90_000_000` → `1d 1h`, `0` → `0s`.
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.ceil(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
  }
  const shown = parts.slice(0, 2).filter((p) => !p.startsWith('0'));
  return shown.length === 0 ? '0s' : shown.join(' ');
}
