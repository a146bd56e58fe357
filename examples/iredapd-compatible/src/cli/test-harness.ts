/**
 * Test helpers for the admin commands: run `policyd-admin` in-process against a fresh SQLite data directory
 * with captured output, and open that directory's stores to look at (or seed) what the commands wrote.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsResolver } from '@policyd/core';
import { type KnexStorage, openStorage } from '@policyd/storage-knex';
import type { CliIo } from './io.ts';
import { runCli } from './run-cli.ts';

/** What one run printed and returned. */
export interface CliRun {
  /** Exit status. */
  readonly status: number;
  /** Everything written to stdout. */
  readonly stdout: string;
  /** Everything written to stderr. */
  readonly stderr: string;
}

/** Options of {@link CliSandbox.run}. */
export interface RunOptions {
  /** Pretend stdout is a terminal. */
  readonly tty?: boolean;
  /** DNS for the refresh. */
  readonly resolver?: DnsResolver;
  /** Clock. */
  readonly now?: () => number;
  /** Do not add `--data-dir` (the arguments choose the database). */
  readonly noDataDir?: boolean;
}

/** A temporary data directory and a way to run commands on it. */
export interface CliSandbox {
  /** The directory (its `policyd.sqlite` is the database). */
  readonly dir: string;
  /** The SQLite file the commands use. */
  readonly file: string;
  /** Run `policyd-admin <argv> --data-dir <dir>`. */
  run(argv: readonly string[], options?: RunOptions): Promise<CliRun>;
  /** Open the database's stores (closed by {@link CliSandbox.dispose}). */
  storage(): Promise<KnexStorage>;
  /** Close opened stores and delete the directory. */
  dispose(): Promise<void>;
}

function capture(tty: boolean): { stream: CliIo['stdout']; text: () => string } {
  let text = '';
  return {
    stream: {
      isTTY: tty,
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
    },
    text: () => text,
  };
}

/** Options of {@link createCliSandbox}. */
export interface SandboxOptions {
  /**
   * Leave the directory empty, so that the first command creates the database as on a first start (with the
   * daemon's first-start defaults). Default false: the database exists, with the schema and no rows.
   */
  readonly fresh?: boolean;
}

/**
 * A sandbox in the system's temporary directory.
 *
 * @example
 * ```ts
 * const box = await createCliSandbox();
 * const { status, stdout } = await box.run(['wblist', '--list', '--whitelist']);
 * await box.dispose();
 * ```
 */
export async function createCliSandbox(options: SandboxOptions = {}): Promise<CliSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'policyd-cli-'));
  const file = join(dir, 'policyd.sqlite');
  if (options.fresh !== true) await (await openStorage({ client: 'sqlite', filename: file })).close();
  const opened: KnexStorage[] = [];
  return {
    dir,
    file,
    async run(argv, options = {}) {
      const out = capture(options.tty === true);
      const err = capture(false);
      const io: CliIo = {
        stdout: out.stream,
        stderr: err.stream,
        ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
        ...(options.now === undefined ? {} : { now: options.now }),
      };
      const args = options.noDataDir === true ? argv : [...argv, '--data-dir', dir];
      const status = await runCli(args, io);
      return { status, stdout: out.text(), stderr: err.text() };
    },
    async storage() {
      const storage = await openStorage({ client: 'sqlite', filename: file });
      opened.push(storage);
      return storage;
    },
    async dispose() {
      await Promise.all(opened.map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
