/**
 * Helpers for the daemon's tests: a temporary directory with a settings file, a daemon on a free loopback port
 * with a fixed clock, fake DNS and captured log lines, a policy-protocol client, and a second connection to the
 * daemon's SQLite database for seeding and reading rows.
 */

import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFakeResolver,
  type FakeResolver,
  type FixedClock,
  fixedClock,
  requestText,
} from '@policyd/core/testing';
import { type KnexStorage, openStorage } from '@policyd/storage-knex';
import { type Daemon, type StartDaemonOptions, startDaemon } from '../../src/daemon.ts';

/** One parsed pino line. */
export interface LogEntry {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A pino destination that keeps every line. */
export interface LogCapture {
  /** pino calls this with one JSON line. */
  write(line: string): void;
  /** The lines so far. */
  readonly lines: LogEntry[];
  /** The messages so far. */
  messages(): string[];
}

/** Capture a daemon's log lines. */
export function captureLog(): LogCapture {
  const lines: LogEntry[] = [];
  return {
    write(line) {
      lines.push(JSON.parse(line) as LogEntry);
    },
    lines,
    messages: () => lines.map((l) => l.msg),
  };
}

/** A temporary directory, removed by `remove()`. */
export interface TempDir {
  readonly path: string;
  /** Write a file in it; returns its path. */
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

/** Make a temporary directory. */
export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'policyd-daemon-'));
  return {
    path,
    async write(name, text) {
      const file = join(path, name);
      await writeFile(file, text);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/**
 * A settings.py for tests: SQLite in the settings file's directory, the given plugins and extra lines. Throttle
 * notifications go to `/bin/true` (never the machine's real sendmail) unless an extra line sets `CMD_SENDMAIL`.
 */
export function settingsPy(plugins: readonly string[], ...extra: string[]): string {
  return [
    'from libs.default_settings import *',
    "backend = 'sqlite'",
    "sqlite_db_path = 'policyd.sqlite'",
    "CMD_SENDMAIL = '/bin/true'",
    `plugins = [${plugins.map((p) => `'${p}'`).join(', ')}]`,
    ...extra,
    '',
  ].join('\n');
}

/** A daemon under test. */
export interface TestDaemon {
  readonly daemon: Daemon;
  readonly port: number;
  readonly clock: FixedClock;
  readonly dns: FakeResolver;
  readonly log: LogCapture;
  /** A second storage on the daemon's SQLite file (closed by `stop()`). */
  admin(): Promise<KnexStorage>;
  /** Close the daemon and the admin storage. */
  stop(): Promise<void>;
}

/** Start a daemon on 127.0.0.1, port 0, with a fixed clock, fake DNS (NXDOMAIN for everything) and captured log. */
export async function startTestDaemon(options: Partial<StartDaemonOptions> = {}): Promise<TestDaemon> {
  const clock = fixedClock();
  const dns = createFakeResolver();
  const log = captureLog();
  const daemon = await startDaemon({
    listen: { host: '127.0.0.1', port: 0 },
    now: clock.now,
    dns,
    hostname: 'policyd.test',
    logDestination: log,
    ...options,
  });
  let admin: KnexStorage | undefined;
  return {
    daemon,
    port: daemon.address.port,
    clock,
    dns,
    log,
    async admin() {
      const storage = daemon.settings.config.storage;
      if (storage.backend !== 'sqlite') throw new Error('admin() needs a SQLite daemon');
      admin ??= await openStorage({ client: 'sqlite', filename: storage.path });
      return admin;
    },
    async stop() {
      await daemon.close();
      await admin?.close();
    },
  };
}

/** A policy-protocol client on one connection, as Postfix's smtpd uses it. */
export interface PolicyClient {
  readonly socket: Socket;
  /** Send one request (core's test defaults overridden by `attrs`) and resolve with the action text. */
  ask(attrs?: Readonly<Record<string, string | number>>): Promise<string>;
  /** Send without waiting; `next()` reads the following reply. */
  send(attrs?: Readonly<Record<string, string | number>>): void;
  /** The next reply's action text. */
  next(): Promise<string>;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Connect to a policy server. */
export async function policyClient(port: number): Promise<PolicyClient> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let buffer = '';
  const waiting: ((reply: string) => void)[] = [];
  const ready: string[] = [];
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const reply = buffer.slice(0, end).replace(/^action=/, '');
      buffer = buffer.slice(end + 2);
      const resolve = waiting.shift();
      if (resolve === undefined) ready.push(reply);
      else resolve(reply);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const next = (): Promise<string> => {
    const reply = ready.shift();
    if (reply !== undefined) return Promise.resolve(reply);
    return new Promise((resolve, reject) => {
      waiting.push(resolve);
      void closed.then(() => reject(new Error('connection closed before the reply')));
    });
  };
  const send = (attrs: Readonly<Record<string, string | number>> = {}): void => {
    socket.write(requestText(attrs));
  };
  return {
    socket,
    send,
    next,
    ask(attrs) {
      send(attrs);
      return next();
    },
    closed,
    close: () => socket.destroy(),
  };
}
