/**
 * The logging contract: a subset of pino's API, so a pino logger can be passed as is.
 */

/** One logging method: `(fields, message?)` or `(message)`, as in pino. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/** A pino-compatible logger. Pass `pino()` or anything with the same methods. */
export interface Logger {
  /** Very detailed diagnostics. */
  readonly debug: LogFn;
  /** Normal operation: one line per request. */
  readonly info: LogFn;
  /** Something went wrong but was handled (plugin failure, protocol error). */
  readonly warn: LogFn;
  /** Something went wrong and needs an operator. */
  readonly error: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => {};

/** A logger that discards everything; the default when none is given. */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
});
