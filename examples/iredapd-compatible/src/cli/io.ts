/**
 * What an admin command talks to: two output streams, and the clock and DNS it may need, so that tests run
 * every command in-process against captured output, a fixed time and a scripted resolver.
 */

import type { DnsResolver } from '@policyd/core';

/** An output stream: `process.stdout`, or anything with `write` (tests capture into a string). */
export interface CliStream {
  /** Write text as is. */
  write(chunk: string): unknown;
  /** True when a person watches (a terminal): progress lines are drawn only then. */
  readonly isTTY?: boolean;
}

/** The environment of one command run. */
export interface CliIo {
  /** Results and progress. */
  readonly stdout: CliStream;
  /** Errors, warnings and failed domains. */
  readonly stderr: CliStream;
  /**
   * DNS for the whitelist-domain refresh. Default: a `node:dns/promises` `Resolver` with the settings'
   * `DNS_QUERY_TIMEOUT`.
   */
  readonly resolver?: DnsResolver;
  /** The clock (milliseconds since the epoch) for cleanup and counter windows. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Exit statuses, the same for every command:
 * - `ok` 0: done (also when there was nothing to do);
 * - `usage` 1: invalid arguments or settings; nothing was written (iRedAPD's tools exit 1 for bad arguments);
 * - `failure` 2: the database failed or is disabled in the settings;
 * - `partial` 3: the whitelist-domain refresh could not resolve some domains (their old entries were kept);
 *   the other domains were refreshed.
 */
export const EXIT = Object.freeze({ ok: 0, usage: 1, failure: 2, partial: 3 });

/** One of {@link EXIT}'s values. */
export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the message to print and the exit status to return. */
export class CliError extends Error {
  /** The exit status. */
  readonly exitStatus: ExitStatus;

  /**
   * @param message - printed after `<<< ERROR >>> `
   * @param exitStatus - default {@link EXIT}.usage
   */
  constructor(message: string, exitStatus: ExitStatus = EXIT.usage) {
    super(message);
    this.name = 'CliError';
    this.exitStatus = exitStatus;
  }
}

/** Write one line (a newline is added). */
export function line(stream: CliStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Write an error line in iRedAPD's tools' style: `<<< ERROR >>> message`. */
export function errorLine(io: CliIo, message: string): void {
  line(io.stderr, `<<< ERROR >>> ${message}`);
}
