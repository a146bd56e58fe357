/**
 * Signals, as systemd and admins send them: SIGTERM/SIGINT stop gracefully (in-flight requests answered),
 * SIGHUP reloads settings and lists and reopens the log file. iRedAPD ignores SIGHUP and dies at once on
 * SIGTERM.
 */

import type { Daemon } from './daemon.ts';

/** The part of `process` the handlers use (a test can pass an EventEmitter). */
export interface SignalSource {
  /** Listen for a signal. */
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  /** Stop listening. */
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/** Installed handlers. */
export interface SignalHandling {
  /**
   * Resolves with the exit status once the daemon has stopped after SIGTERM/SIGINT: 0, or 1 when closing
   * failed or a second stop signal forced it.
   */
  readonly stopped: Promise<number>;
  /** Remove the handlers. */
  dispose(): void;
}

/**
 * Route signals to `daemon`. A second SIGTERM/SIGINT while closing does not wait any longer: `stopped`
 * resolves with 1 at once.
 *
 * @example
 * ```ts
 * const { stopped } = handleSignals(await startDaemon(options));
 * process.exitCode = await stopped;
 * ```
 */
export function handleSignals(daemon: Daemon, source: SignalSource = process): SignalHandling {
  let settle: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (settle = resolve));
  let stopping = false;

  const stop = (signal: NodeJS.Signals) => () => {
    if (stopping) {
      daemon.logger.warn(`${signal} again: exiting without waiting for open requests`);
      settle(1);
      return;
    }
    stopping = true;
    daemon.logger.info(`${signal} received: closing (answering requests in flight)`);
    daemon.close().then(
      () => settle(0),
      (err: unknown) => {
        daemon.logger.error({ err }, 'closing failed');
        settle(1);
      },
    );
  };
  const onTerm = stop('SIGTERM');
  const onInt = stop('SIGINT');
  const onHup = (): void => {
    daemon.logger.info('SIGHUP received: reloading settings and lists');
    daemon.reopenLog();
    void daemon.reload();
  };
  source.on('SIGTERM', onTerm);
  source.on('SIGINT', onInt);
  source.on('SIGHUP', onHup);
  return {
    stopped,
    dispose() {
      source.off('SIGTERM', onTerm);
      source.off('SIGINT', onInt);
      source.off('SIGHUP', onHup);
    },
  };
}
