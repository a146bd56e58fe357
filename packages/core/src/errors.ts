/**
 * Coded errors. Every error policyd throws on purpose is a {@link PolicydError} with a stable `code`;
 * the catalogue with causes and remedies is `docs/reference/errors.md`.
 */

/** Stable error codes; documented one by one in `docs/reference/errors.md`. */
export type PolicydErrorCode =
  /** Malformed or over-limit input on the policy protocol; the connection is closed without a reply. */
  | 'POLICYD_ERR_PROTOCOL'
  /** A plugin threw or rejected while checking a request. */
  | 'POLICYD_ERR_PLUGIN_FAILED'
  /** A plugin did not answer within its deadline. */
  | 'POLICYD_ERR_PLUGIN_TIMEOUT'
  /** Two plugins with the same name were registered. */
  | 'POLICYD_ERR_DUPLICATE_PLUGIN'
  /** An option or configuration value is invalid; the message names the option and the value. */
  | 'POLICYD_ERR_INVALID_OPTION'
  /** A decision is malformed (bad reply code, header name, address …). */
  | 'POLICYD_ERR_INVALID_DECISION'
  /** An account, sender or IP given to a matcher or an admin operation is not in a valid form. */
  | 'POLICYD_ERR_INVALID_ACCOUNT'
  /** A store could not be reached or failed; plugins' error policy applies. */
  | 'POLICYD_ERR_STORE'
  /** The server or policy was used after `close()`. */
  | 'POLICYD_ERR_CLOSED';

/** Why a protocol error was raised, for logs and tests. */
export type ProtocolErrorReason =
  | 'line-too-long'
  | 'request-too-large'
  | 'too-many-attributes'
  | 'missing-equals'
  | 'empty-name'
  | 'nul-byte'
  | 'invalid-utf8'
  | 'bad-request-type'
  | 'bad-protocol-state'
  /** `parseRequest` was given text that goes on after the request's empty line. */
  | 'trailing-data';

/** Extra, machine-readable facts attached to a {@link PolicydError}. */
export interface PolicydErrorDetails {
  /** Name of the plugin involved, when there is one. */
  readonly plugin?: string;
  /** For `POLICYD_ERR_PROTOCOL`: what was wrong with the input. */
  readonly reason?: ProtocolErrorReason;
  /** The offending option or value, when there is one. */
  readonly value?: unknown;
  /** The underlying error. */
  readonly cause?: unknown;
}

/**
 * The one error class policyd throws on purpose.
 *
 * @example
 * ```ts
 * try { await createPolicy({ plugins }) }
 * catch (err) { if (err instanceof PolicydError && err.code === 'POLICYD_ERR_DUPLICATE_PLUGIN') … }
 * ```
 */
export class PolicydError extends Error {
  /** Stable code, safe to branch on. */
  readonly code: PolicydErrorCode;
  /** Plugin involved, when there is one. */
  readonly plugin: string | undefined;
  /** For protocol errors: what was wrong with the input. */
  readonly reason: ProtocolErrorReason | undefined;
  /** The offending option or value, when there is one. */
  readonly value: unknown;

  /**
   * @param code - stable error code
   * @param message - human-readable explanation naming the offending value
   * @param details - plugin, reason, value and cause
   */
  constructor(code: PolicydErrorCode, message: string, details: PolicydErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PolicydError';
    this.code = code;
    this.plugin = details.plugin;
    this.reason = details.reason;
    this.value = details.value;
  }
}

/** True when `err` is a {@link PolicydError}, optionally with the given code. */
export function isPolicydError(err: unknown, code?: PolicydErrorCode): err is PolicydError {
  return err instanceof PolicydError && (code === undefined || err.code === code);
}
