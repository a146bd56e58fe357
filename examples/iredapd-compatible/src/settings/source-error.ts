/**
 * Start-up errors that point into a configuration file.
 */

import { PolicydError } from '@policyd/core';

/** A place in a configuration file: 1-based line and column. */
export interface SourcePosition {
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column number (in UTF-16 code units). */
  readonly col: number;
}

/**
 * A `POLICYD_ERR_INVALID_OPTION` error whose message starts with `file:line:col:` so editors and admins can
 * jump to it. `construct` (the offending text or value) is kept in the error's `value`.
 *
 * @example
 * ```ts
 * throw sourceError('settings.py', { line: 3, col: 1 }, 'function calls are not supported', 'int("5")');
 * // settings.py:3:1: function calls are not supported
 * ```
 */
export function sourceError(
  file: string,
  at: SourcePosition | undefined,
  message: string,
  construct?: unknown,
): PolicydError {
  const where = at === undefined ? file : `${file}:${at.line}:${at.col}`;
  return new PolicydError('POLICYD_ERR_INVALID_OPTION', `${where}: ${message}`, { value: construct });
}
