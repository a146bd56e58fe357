/**
 * The admin commands' database: the daemon's own settings (`--config settings.py`, or the stand-alone
 * defaults with SQLite under `--data-dir`, default `./data`), opened the way the daemon opens them, so that a
 * command changes exactly what the running daemon reads.
 */

import { isPolicydError, type LogFn, type Logger, silentLogger } from '@policyd/core';
import type { KnexStorage } from '@policyd/storage-knex';
import { openDaemonStorage } from '../daemon-storage.ts';
import { applyInstallDefaults } from '../install-defaults.ts';
import type { LoadedSettings } from '../settings/load-settings.ts';
import { loadSettings } from '../settings/load-settings.ts';
import { type DatabaseName, storagePlan } from '../storage-plan.ts';
import { CliError, type CliIo, EXIT, line } from './io.ts';

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

/** A logger that prints messages (not fields) as notes on stderr: the daemon's first-start line. */
function noteLogger(io: CliIo): Logger {
  const note =
    (prefix: string): LogFn =>
    (fieldsOrMessage: object | string, message?: string) => {
      const text = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : message;
      if (text !== undefined) line(io.stderr, `* ${prefix}${text}`);
    };
  const logger: Logger = {
    debug: () => {},
    info: note(''),
    warn: note('Warning: '),
    error: note('Error: '),
    child: () => logger,
  };
  return logger;
}

/**
 * Open the databases the settings name, as the daemon opens them, and run `fn`, closing them afterwards
 * whatever happens. A SQLite file (and its directory) is created with its schema when missing and gets the
 * daemon's first-start defaults (greylisting on for everyone, the default whitelist domains; a note on
 * stderr says so), so that running a command before the daemon's first start changes nothing about that
 * start. Server databases are used as they are.
 *
 * @param needs - the logical databases the command uses; one disabled by the settings (an empty
 *   `<db>_db_*` value) is an error, since iRedAPD's plugins then ignore it
 * @throws CliError exit 1 for invalid settings, exit 2 for a disabled database; PolicydError
 *   `POLICYD_ERR_STORE` for an unreachable one
 */
export async function withDatabase<T>(
  io: CliIo,
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
  const opened = await openDaemonStorage(settings.config, { logger: silentLogger, skipSchemaCheck: true });
  try {
    const storage = opened.sql;
    if (storage === undefined) throw new CliError('no database is configured', EXIT.failure);
    if (opened.created) await applyInstallDefaults(storage.greylist, noteLogger(io));
    return await fn({ settings, storage });
  } finally {
    await opened.close();
  }
}

/** An error's message with its cause, for one line of output. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || err.message.includes(cause) ? err.message : `${err.message}: ${cause}`;
}
