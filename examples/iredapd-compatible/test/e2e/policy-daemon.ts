/**
 * Runs a policy daemon as a child process for the end-to-end tests: start it, wait until its TCP port accepts
 * connections, read its output, and stop it with a signal (SIGTERM by default) as an admin or systemd would.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';

/** Options of {@link spawnPolicyDaemon}. */
export interface PolicyDaemonOptions {
  /** Program to run; default the running Node.js (`process.execPath`). */
  readonly command?: string;
  /** Its arguments, e.g. `['examples/iredapd-compatible/src/main.ts', '--config', file]`. */
  readonly args: readonly string[];
  /** Extra environment variables (merged over `process.env`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; default the current one. */
  readonly cwd?: string;
  /** The address the daemon listens on; it is ready when a TCP connection there succeeds. */
  readonly host?: string;
  readonly port: number;
  /** Limit for the daemon to accept connections, in milliseconds; default 30 000. */
  readonly readyTimeoutMs?: number;
}

/** How the daemon process ended. */
export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running daemon; see {@link spawnPolicyDaemon}. */
export interface PolicyDaemon {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Wait until its output matches `pattern`; rejects after `timeoutMs` (default 10 000) or when it exits. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<DaemonExit>;
  /**
   * Send `signal` (default SIGTERM) and wait up to `timeoutMs` (default 15 000) for the exit; after that it
   * gets SIGKILL. Resolves with how it ended; safe to call again or after it exited.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<DaemonExit>;
}

/** Start a daemon process and wait until it accepts TCP connections on `host:port`. */
export async function spawnPolicyDaemon(options: PolicyDaemonOptions): Promise<PolicyDaemon> {
  const host = options.host ?? '127.0.0.1';
  const child: ChildProcess = spawn(options.command ?? process.execPath, options.args, {
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<DaemonExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      output += `\n${error.message}`;
      resolve({ code: null, signal: null });
    });
  });
  let done: DaemonExit | undefined;
  void exited.then((exit) => {
    done = exit;
    for (const listener of listeners) listener();
  });
  // A crashed test run must not leave the daemon behind.
  const killOnExit = (): void => {
    if (done === undefined) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<DaemonExit> => {
    if (done !== undefined) return done;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (done !== undefined) {
      throw new Error(`the policy daemon exited before listening (${describeExit(done)}):\n${output}`);
    }
    if (await canConnect(host, options.port)) break;
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`the policy daemon did not listen on ${host}:${options.port} in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    pid: child.pid ?? 0,
    host,
    port: options.port,
    output: () => output,
    exited,
    stop,
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) finish(undefined);
          else if (done !== undefined) finish(new Error(`the daemon exited before printing ${pattern}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`the daemon printed nothing matching ${pattern} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (error: Error | undefined): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error === undefined) resolve();
          else reject(error);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

function describeExit(exit: DaemonExit): string {
  return exit.signal === null ? `code ${String(exit.code)}` : `signal ${exit.signal}`;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
