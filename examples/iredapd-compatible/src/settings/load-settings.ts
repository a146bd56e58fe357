/**
 * Loading the daemon's settings: iRedAPD's `settings.py` as it is, or a JSON file with the same keys, merged
 * over iRedAPD's defaults, validated, and mapped to the daemon's configuration. Without a file the daemon runs
 * stand-alone: SQLite in the data directory and iRedMail's usual plugins.
 */

import { open } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { PolicydError } from '@policyd/core';
import { didYouMeanHint } from '../did-you-mean.ts';
import { type DaemonConfig, toDaemonConfig } from './daemon-config.ts';
import {
  DEFAULT_SETTINGS,
  IREDAPD_DEFAULT_SETTINGS,
  type IredapdSettings,
  REQUIRED_SETTINGS,
  SETTING_NAMES,
  type SettingName,
} from './defaults.ts';
import { DEFAULT_MAX_SETTINGS_LENGTH, evaluatePythonSettings, type PlainValue } from './python-literal.ts';
import { SETTINGS_SCHEMA, type SettingSpec } from './schema.ts';
import { sourceError } from './source-error.ts';

/** Settings file formats: iRedAPD's `settings.py`, or JSON with the same keys. */
export type SettingsFormat = 'python' | 'json';

/** A setting the file sets that policyd accepts but does not use. */
export interface IgnoredSetting {
  /** The setting. */
  readonly name: SettingName;
  /** Why it is not used, and what to do instead. */
  readonly reason: string;
}

/** Loaded settings. */
export interface LoadedSettings {
  /** Absolute path of the settings file; `undefined` when running without one. */
  readonly file: string | undefined;
  /** Every setting, defaults filled in, validated and normalised. */
  readonly settings: IredapdSettings;
  /** The daemon's configuration derived from {@link LoadedSettings.settings}. */
  readonly config: DaemonConfig;
  /** The settings the file sets (assigned or changed). */
  readonly assigned: ReadonlySet<SettingName>;
  /** Settings the file sets that policyd does not use, with the reason; worth one log line at start-up. */
  readonly ignored: readonly IgnoredSetting[];
  /** Things to log as warnings: unknown names in `settings.py`, disabled databases, skipped `MYNETWORKS` … */
  readonly warnings: readonly string[];
}

/** Options of {@link parseSettings}. */
export interface ParseSettingsOptions {
  /** File name for messages. */
  readonly file: string;
  /** How to read the text. */
  readonly format: SettingsFormat;
  /** Directory of the default SQLite file; default `data` under the current directory. */
  readonly dataDir?: string;
  /** Directory relative paths in the settings are resolved against; default the current directory. */
  readonly baseDir?: string;
  /** Largest accepted text; default 1 MiB. */
  readonly maxLength?: number;
}

/** Options of {@link loadSettings}. */
export interface LoadSettingsOptions {
  /** `settings.py` or a `.json` file; without it, the stand-alone defaults ({@link DEFAULT_SETTINGS}). */
  readonly file?: string;
  /** Format of `file`; default JSON for a `.json` file name, Python otherwise. */
  readonly format?: SettingsFormat;
  /** Directory of the default SQLite file; default `data` under the current directory. */
  readonly dataDir?: string;
  /** Largest accepted file in bytes; default 1 MiB. */
  readonly maxBytes?: number;
}

const DEFAULT_DATA_DIR = 'data';
const KNOWN: ReadonlySet<string> = new Set(SETTING_NAMES);

function show(value: PlainValue, format: SettingsFormat): string {
  const json = JSON.stringify(value) ?? String(value);
  const shown =
    format === 'json'
      ? json
      : typeof value === 'boolean'
        ? value
          ? 'True'
          : 'False'
        : value === null
          ? 'None'
          : json;
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

function checkSetting(
  name: SettingName,
  value: PlainValue,
  format: SettingsFormat,
  fail: (message: string) => never,
): unknown {
  const spec = SETTINGS_SCHEMA[name] as SettingSpec<unknown>;
  const result = spec.check(value);
  if (!result.ok) {
    // `listen_port = 7777,` is a one-item tuple in Python: say so rather than just show [7777].
    const comma =
      format === 'python' &&
      Array.isArray(value) &&
      value.length === 1 &&
      spec.check(value[0] as PlainValue).ok
        ? ' (a trailing comma makes a tuple)'
        : '';
    fail(`${name} must be ${result.expected}, got ${show(value, format)}${comma}`);
  }
  return (result as { readonly value: unknown }).value;
}

function lineOfJsonKey(text: string, key: string): number | undefined {
  const at = text.indexOf(JSON.stringify(key));
  return at < 0 ? undefined : text.slice(0, at).split('\n').length;
}

// Settings that are valid alone but not together.
function crossCheck(
  settings: IredapdSettings,
  label: string,
  lines: ReadonlyMap<string, number | undefined>,
): void {
  const blockMinutes = settings.GREYLISTING_BLOCK_EXPIRE;
  if (
    settings.plugins.includes('greylisting') &&
    settings.GREYLISTING_UNAUTH_TRIPLET_EXPIRE * 1440 < blockMinutes
  ) {
    const line = lines.get('GREYLISTING_UNAUTH_TRIPLET_EXPIRE') ?? lines.get('GREYLISTING_BLOCK_EXPIRE');
    // iRedAPD starts, then no triplet can ever pass: its record is gone before a retry is accepted.
    throw sourceError(
      label,
      line === undefined ? undefined : { line, col: 1 },
      `GREYLISTING_UNAUTH_TRIPLET_EXPIRE (${settings.GREYLISTING_UNAUTH_TRIPLET_EXPIRE} days) must be at least ` +
        `GREYLISTING_BLOCK_EXPIRE (${blockMinutes} minutes), or no greylisted sender could ever pass`,
      settings.GREYLISTING_UNAUTH_TRIPLET_EXPIRE,
    );
  }
}

interface RawSettings {
  readonly values: ReadonlyMap<string, PlainValue>;
  readonly lines: ReadonlyMap<string, number | undefined>;
  readonly warnings: readonly string[];
}

function readPython(text: string, file: string, maxLength: number): RawSettings {
  const { values, lines } = evaluatePythonSettings(text, {
    file,
    defaults: IREDAPD_DEFAULT_SETTINGS as unknown as Readonly<Record<string, PlainValue>>,
    maxLength,
  });
  const warnings: string[] = [];
  for (const [name, line] of lines) {
    if (!KNOWN.has(name)) {
      warnings.push(`${file}:${line}: unknown setting ${name} ignored${didYouMeanHint(name, SETTING_NAMES)}`);
    }
  }
  return { values, lines, warnings };
}

function readJson(text: string, file: string, maxLength: number): RawSettings {
  if (text.length > maxLength) {
    throw sourceError(file, undefined, `settings file is larger than ${maxLength} characters`, text.length);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw sourceError(file, undefined, `not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw sourceError(file, undefined, 'a JSON settings file must hold one object of settings');
  }
  const values = new Map<string, PlainValue>();
  const lines = new Map<string, number | undefined>();
  for (const [name, value] of Object.entries(parsed as Record<string, PlainValue>)) {
    const line = lineOfJsonKey(text, name);
    if (!KNOWN.has(name)) {
      throw sourceError(
        file,
        line === undefined ? undefined : { line, col: 1 },
        `unknown setting ${JSON.stringify(name)}${didYouMeanHint(name, SETTING_NAMES)}`,
        name,
      );
    }
    values.set(name, value);
    lines.set(name, line);
  }
  return { values, lines, warnings: [] };
}

function build(
  raw: RawSettings,
  file: string | undefined,
  format: SettingsFormat,
  dataDir: string,
  baseDir: string,
): LoadedSettings {
  const label = file ?? '(defaults)';
  const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  const assigned = new Set<SettingName>();
  for (const [name, value] of raw.values) {
    if (!KNOWN.has(name)) continue;
    const line = raw.lines.get(name);
    const fail = (message: string): never => {
      throw sourceError(label, line === undefined ? undefined : { line, col: 1 }, message, value);
    };
    merged[name] = checkSetting(name as SettingName, value, format, fail);
    if (raw.lines.has(name)) assigned.add(name as SettingName);
  }
  if (file !== undefined) {
    for (const name of REQUIRED_SETTINGS) {
      if (!raw.values.has(name)) {
        throw sourceError(
          file,
          undefined,
          `${name} is not set: iRedAPD requires it in settings.py (${
            name === 'backend'
              ? "backend = 'mysql', 'pgsql' or 'sqlite'"
              : "plugins = ['reject_null_sender', 'amavisd_wblist', 'greylisting', 'throttle']"
          })`,
          name,
        );
      }
    }
  }
  const settings = Object.freeze(merged) as unknown as IredapdSettings;
  crossCheck(settings, label, raw.lines);
  const ignored: IgnoredSetting[] = [];
  for (const name of assigned) {
    const reason = SETTINGS_SCHEMA[name].unused;
    if (reason !== undefined) ignored.push(Object.freeze({ name, reason }));
  }
  const { config, warnings } = toDaemonConfig(settings, { dataDir, baseDir });
  return Object.freeze({
    file,
    settings,
    config,
    assigned,
    ignored: Object.freeze(ignored),
    warnings: Object.freeze([...raw.warnings, ...warnings]),
  });
}

/**
 * Validate settings given as text (no file system access; {@link loadSettings} reads the file).
 *
 * `settings.py` is evaluated as Python literals over iRedAPD's defaults; a name policyd does not know is a
 * warning (iRedAPD would ignore it too). In JSON every key must be a known setting. Either way `backend` and
 * `plugins` are required, as in iRedAPD, and every value is type- and range-checked.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the file, line and setting.
 *
 * @example
 * ```ts
 * const loaded = parseSettings("backend = 'sqlite'\nplugins = ['greylisting']\nlisten_port = '7777'\n", {
 *   file: 'settings.py',
 *   format: 'python',
 * });
 * loaded.config.listen; // { host: '127.0.0.1', port: 7777 }
 * ```
 */
export function parseSettings(text: string, options: ParseSettingsOptions): LoadedSettings {
  const maxLength = options.maxLength ?? DEFAULT_MAX_SETTINGS_LENGTH;
  const raw =
    options.format === 'json'
      ? readJson(text, options.file, maxLength)
      : readPython(text, options.file, maxLength);
  return build(
    raw,
    options.file,
    options.format,
    resolve(options.dataDir ?? DEFAULT_DATA_DIR),
    resolve(options.baseDir ?? '.'),
  );
}

/**
 * The settings of a daemon started without a settings file: {@link DEFAULT_SETTINGS} (SQLite in `dataDir`,
 * iRedMail's usual plugins, 127.0.0.1:7777).
 */
export function defaultSettings(options: { readonly dataDir?: string } = {}): LoadedSettings {
  return build(
    { values: new Map(), lines: new Map(), warnings: [] },
    undefined,
    'python',
    resolve(options.dataDir ?? DEFAULT_DATA_DIR),
    resolve('.'),
  );
}

async function readBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `cannot read settings file ${path}: ${why}`, {
      value: path,
      cause: err,
    });
  }
  try {
    // Read at most maxBytes + 1 so an endless or huge file (a device, a mistake) is refused, never slurped.
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) {
        throw new PolicydError(
          'POLICYD_ERR_INVALID_OPTION',
          `settings file ${path} is larger than ${maxBytes} bytes`,
          { value: path },
        );
      }
    }
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof PolicydError) throw err;
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `cannot read settings file ${path}: ${String(err)}`,
      {
        value: path,
        cause: err,
      },
    );
  } finally {
    await handle.close();
  }
}

/**
 * Load the daemon's settings: read and validate `options.file` (see {@link parseSettings}), or return the
 * stand-alone defaults ({@link defaultSettings}) when no file is given. Relative paths in the file
 * (`sqlite_db_path`, `log_file`) are resolved against the file's directory. Safe to call again on SIGHUP: it
 * has no side effects.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when the file cannot be read, is too large, is not
 * UTF-8, or has an invalid setting.
 *
 * @example
 * ```ts
 * const { config, warnings, ignored } = await loadSettings({ file: '/opt/iredapd/settings.py' });
 * for (const warning of warnings) logger.warn(warning);
 * ```
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<LoadedSettings> {
  if (options.file === undefined) {
    return defaultSettings(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  }
  const path = resolve(options.file);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SETTINGS_LENGTH;
  const bytes = await readBounded(path, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `settings file ${path} is not valid UTF-8`, {
      value: path,
      cause: err,
    });
  }
  const format = options.format ?? (extname(path).toLowerCase() === '.json' ? 'json' : 'python');
  return parseSettings(text, {
    file: path,
    format,
    baseDir: dirname(path),
    maxLength: maxBytes,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
}
