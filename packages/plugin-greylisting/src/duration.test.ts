import { describe, expect, it } from 'vitest';
import { formatDuration } from './duration.ts';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [1, '1s'],
    [45_000, '45s'],
    [900_000, '15m'],
    [723_400, '12m 4s'],
    [3_600_000 + 5_000, '1h'],
    [5_400_000, '1h 30m'],
    [90_000_000, '1d 1h'],
    [2_592_000_000, '30d'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
