/**
 * The one string order of every SQL store: UTF-16 code units, JavaScript's default comparison. Results are
 * sorted with it in code, never by the database, whose collations differ (MySQL ignores case, PostgreSQL may
 * follow the locale).
 */

/** Compare two strings by UTF-16 code units (`-1`, `0`, `1`), for `Array.prototype.sort`. */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
