/**
 * The admin commands' database: the daemon's own settings (`--config settings.py`, or the stand-alone
 * defaults with SQLite under `--data-dir`, default `./data`), opened the way the daemon opens them, so that a
 * command changes exactly what the running daemon reads.
 */

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isPolicydError } from '@policyd/core';
import { type KnexStorage, openStorage } from '@policyd/storage-knex';
import { type LoadedSettings, loadSettings } from '../settings/load-settings.ts';
import { type DatabaseName, storagePlan } from '../storage-plan.ts';
import { CliError, EXIT } from './io.ts';

/** The options every command takes to find its database. */
export interface DatabaseOptions {
  /** `--config`: the daemon's `settings.py` (or JSON settings). */
  readonly config?: string;
  /** `--data-dir`: directory of the default SQLite file when the settings name none; default `./data`. */
  readonly dataDir?: string;
}

/** Settings and open storage of one command run. */
export interface CliContext {
  /** The loaded settings. */
  readonly settings: LoadedSettings;
  /** The stores. */
  readonly storage: KnexStorage;
}

const DATABASE_SETTINGS: Readonly<Record<DatabaseName, string>> = Object.freeze({
  iredapd: 'iredapd_db_*',
  amavisd: 'amavisd_db_*',
  vmail: 'vmail_db_*',
});

/**
 * Load the settings only (no database), for checks that need them before anything is opened.
 *
 * @throws CliError (exit 1) naming the file, line and setting when the settings are invalid
 */
export async function loadCliSettings(options: DatabaseOptions): Promise<LoadedSettings> {
  try {
    return await loadSettings({
      ...(options.config === undefined ? {} : { file: options.config }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    });
  } catch (err) {
    if (isPolicydError(err)) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

/**
 * Open the databases the settings name and run `fn`, closing them afterwards whatever happens. A SQLite file
 * (and its directory) is created with its schema when missing, as the daemon does on first start; server
 * databases are used as they are.
 *
 * @param needs - the logical databases the command uses; one disabled by the settings (an empty
 *   `<db>_db_*` value) is an error, since iRedAPD's plugins then ignore it
 * @throws CliError exit 1 for invalid settings, exit 2 for a disabled or unreachable database
 */
export async function withDatabase<T>(
  options: DatabaseOptions,
  needs: readonly DatabaseName[],
  fn: (context: CliContext) => Promise<T>,
  preloaded?: LoadedSettings,
): Promise<T> {
  const settings = preloaded ?? (await loadCliSettings(options));
  const plan = storagePlan(settings.config.storage);
  for (const name of needs) {
    if (plan.open === undefined || plan.disabled.has(name)) {
      throw new CliError(
        `the ${name} database is disabled in ${settings.file ?? 'the settings'}: one of its ` +
          `${DATABASE_SETTINGS[name]} settings is empty`,
        EXIT.failure,
      );
    }
  }
  if (plan.open === undefined) throw new CliError('no database is configured', EXIT.failure);
  if (plan.open.client === 'sqlite') await mkdir(dirname(plan.open.filename), { recursive: true });
  let storage: KnexStorage;
  try {
    storage = await openStorage(plan.open);
  } catch (err) {
    throw new CliError(`cannot open the database: ${describeError(err)}`, EXIT.failure);
  }
  try {
    return await fn({ settings, storage });
  } finally {
    await storage.close();
  }
}

/** An error's message with its cause, for one line of output. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || err.message.includes(cause) ? err.message : `${err.message}: ${cause}`;
}
