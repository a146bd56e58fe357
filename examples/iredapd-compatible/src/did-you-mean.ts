/**
 * "Did you mean …?" suggestions for misspelt setting and plugin names.
 */

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i += 1) {
    for (let j = 1; j <= t.length; j += 1) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[s.length]![t.length]!;
}

/**
 * The candidate closest to `name`, if it is close enough to be a plausible typo (a different case counts as
 * the closest possible match); `undefined` otherwise. Names longer than 100 characters get no suggestion.
 *
 * @example
 * ```ts
 * didYouMean('GREYLISTING_BLOK_EXPIRE', ['GREYLISTING_BLOCK_EXPIRE', 'MYNETWORKS']); // 'GREYLISTING_BLOCK_EXPIRE'
 * didYouMean('mynetworks', ['MYNETWORKS']); // 'MYNETWORKS'
 * ```
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  if (name.length > 100) return undefined;
  const limit = Math.max(1, Math.floor(name.length / 4));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - name.length) > limit) continue;
    const d = distance(name, candidate);
    if (d < bestDistance && d <= limit) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `" (did you mean 'X'?)"` for {@link didYouMean}'s suggestion, or `''` when there is none. */
export function didYouMeanHint(name: string, candidates: Iterable<string>): string {
  const suggestion = didYouMean(name, candidates);
  return suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
}
