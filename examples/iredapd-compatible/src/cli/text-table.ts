/**
 * Plain text tables for listings: columns as wide as their widest cell, numbers aligned right, a dashed rule
 * under the header, and no trailing spaces (so `awk` and `cut` work on the output).
 */

/** One column. */
export interface TextColumn {
  /** Header text. */
  readonly title: string;
  /** Align right (numbers). */
  readonly right?: boolean;
}

/**
 * Format rows under their headers.
 *
 * @example
 * ```ts
 * formatTable([{ title: 'Account' }, { title: 'Max msgs', right: true }], [['@example.com', '500']]);
 * // 'Account       Max msgs\n----------------------\n@example.com       500'
 * ```
 */
export function formatTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.right === true ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const header = render(columns.map((c) => c.title));
  const rule = '-'.repeat(widths.reduce((n, w) => n + w, 0) + 2 * (columns.length - 1));
  return [header, rule, ...rows.map(render)].join('\n');
}

/** A time in milliseconds as UTC `YYYY-MM-DD HH:MM:SS`. */
export function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
