/**
 * The daemon's log: pino JSON lines on stdout or in a file (`log_file`), at `log_level`. A log file is
 * reopened on SIGHUP, so logrotate can move it away and signal the daemon.
 */

import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { DaemonLogLevel } from './settings/daemon-config.ts';

/** Options of {@link createDaemonLog}. */
export interface DaemonLogOptions {
  /** Lowest level written. */
  readonly level: DaemonLogLevel;
  /** Absolute path of a log file (created with its directory when missing); `undefined`: stdout. */
  readonly file?: string | undefined;
  /** Write here instead (tests); `file` is then ignored. */
  readonly destination?: DestinationStream;
}

/** The daemon's logger and its file handling. */
export interface DaemonLog {
  /** The pino logger. */
  readonly logger: PinoLogger;
  /** Where it writes: a file path, `stdout`, or `custom`. */
  readonly target: string;
  /** Change the level at run time (on reload). */
  setLevel(level: DaemonLogLevel): void;
  /** Reopen the log file (after logrotate moved it); nothing for stdout. */
  reopen(): void;
  /** Write out buffered lines (before exit). */
  flush(): void;
}

/**
 * Create the daemon's log.
 *
 * @example
 * ```ts
 * const log = createDaemonLog({ level: 'info', file: '/var/log/policyd/iredapd.log' });
 * log.logger.info('Starting');
 * process.on('SIGHUP', () => log.reopen());
 * ```
 */
export function createDaemonLog(options: DaemonLogOptions): DaemonLog {
  const file = options.destination === undefined ? options.file : undefined;
  const stream =
    options.destination === undefined
      ? pino.destination(
          file === undefined ? { dest: 1, sync: false } : { dest: file, sync: false, mkdir: true },
        )
      : undefined;
  const logger = pino({ name: 'policyd-iredapd', level: options.level }, options.destination ?? stream);
  return {
    logger,
    target: options.destination !== undefined ? 'custom' : (file ?? 'stdout'),
    setLevel(level) {
      logger.level = level;
    },
    reopen() {
      if (file !== undefined) stream?.reopen();
    },
    flush() {
      try {
        stream?.flushSync();
      } catch {
        // Not open yet, or the descriptor is gone: nothing more can be written anyway.
      }
    },
  };
}
