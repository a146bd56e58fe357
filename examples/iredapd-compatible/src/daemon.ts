/**
 * The daemon: settings → stores → plugins → policy server, with iRedAPD's per-request log line and
 * `smtp_sessions` rows, a reload that swaps the plugins without dropping a connection, and a graceful close.
 * `startDaemon` is the programmatic entry point; the CLI (`main.ts`, `daemon-cli.ts`) adds signals and exit codes.
 */

import { isDeepStrictEqual } from 'node:util';
import {
  createServer,
  type DnsResolver,
  type Evaluation,
  type PolicyRequest,
  type PolicyServer,
} from '@policyd/core';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { buildPolicy, pluginTimeoutMs } from './build-policy.ts';
import { createDaemonLog, type DaemonLog } from './daemon-log.ts';
import { type DaemonStorage, openDaemonStorage } from './daemon-storage.ts';
import { applyInstallDefaults } from './install-defaults.ts';
import type { PluginOrder } from './plugin-table.ts';
import { requestLine } from './request-line.ts';
import type { DaemonLogLevel } from './settings/daemon-config.ts';
import { type LoadedSettings, loadSettings } from './settings/load-settings.ts';
import { smtpSessionRow } from './smtp-session-row.ts';
import { createSmtpSessionWriter, type SmtpSessionWriter } from './smtp-session-writer.ts';
import { type SwappablePolicy, swappablePolicy } from './swappable-policy.ts';
import { createThrottleMailer } from './throttle-mailer.ts';
import { logThrottleNotice } from './throttle-notice.ts';

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  /** `settings.py` (iRedAPD's, as it is) or a `.json` file; default none: SQLite in `dataDir`, 127.0.0.1:7777. */
  readonly config?: string;
  /** Directory of the default SQLite file; default `./data`. */
  readonly dataDir?: string;
  /** Overrides `log_level`. */
  readonly logLevel?: DaemonLogLevel;
  /** Overrides `log_file` (a path; the log goes to stdout without either). */
  readonly logFile?: string;
  /** Write the log here instead (tests). */
  readonly logDestination?: DestinationStream;
  /** Overrides `listen_address` / `listen_port` (port 0: any free port). */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** Clock in milliseconds since the epoch, for plugins and `smtp_sessions`; default `Date.now`. Tests only. */
  readonly now?: () => number;
  /** DNS for greylisting's SPF bypass; default the system's resolver. */
  readonly dns?: DnsResolver;
  /** Host name amavisd_wblist treats as a local domain; default `os.hostname()`. */
  readonly hostname?: string;
  /** Upper bound for answering in-flight requests on close, in milliseconds; default 10 000. */
  readonly closeTimeoutMs?: number;
}

/** How a {@link Daemon.reload} ended. */
export type ReloadResult =
  | {
      /** The new settings are in use. */
      readonly ok: true;
      /** Settings that changed but need a restart to take effect (listener, delimiters, log file). */
      readonly restartNeeded: readonly string[];
    }
  | {
      /** The new settings were refused; the old ones stay in use. */
      readonly ok: false;
      /** Why. */
      readonly error: Error;
    };

/** A running daemon. */
export interface Daemon {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /** The settings in use. */
  readonly settings: LoadedSettings;
  /** The effective plugin order in use. */
  readonly order: PluginOrder;
  /** The policy the server asks; its plugins change on reload. */
  readonly policy: SwappablePolicy;
  /** The daemon's pino logger. */
  readonly logger: PinoLogger;
  /** Open policy connections. */
  readonly connections: number;
  /**
   * Load the settings again and, if they are valid, swap in new plugins (and new database connections when the
   * database settings changed) without closing a connection. Invalid settings are logged and the running
   * ones kept. Reloads never overlap: a second call waits for the first.
   */
  reload(): Promise<ReloadResult>;
  /** Reopen the log file (logrotate); nothing for stdout. */
  reopenLog(): void;
  /** Resolves when every queued `smtp_sessions` row has been written. */
  flushSmtpSessions(): Promise<void>;
  /** Resolves when every queued throttle notification e-mail has been sent (or has failed, logged). */
  flushNotifications(): Promise<void>;
  /**
   * Stop: no new connections, in-flight requests answered, then plugins, notification e-mails being sent (queued
   * ones are dropped, logged), the `smtp_sessions` queue and the databases closed. Idempotent.
   */
  close(): Promise<void>;
}

interface Generation {
  readonly settings: LoadedSettings;
  readonly storage: DaemonStorage;
  readonly writer: SmtpSessionWriter;
  readonly order: PluginOrder;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

function logSettings(logger: PinoLogger, settings: LoadedSettings): void {
  for (const { name, reason } of settings.ignored)
    logger.info({ setting: name }, `settings: ${name} ignored: ${reason}`);
  for (const warning of settings.warnings) logger.warn(`settings: ${warning}`);
}

function logOrder(logger: PinoLogger, order: PluginOrder): void {
  for (const warning of order.warnings) logger.warn(`settings: ${warning}`);
  for (const { name, priority } of order.plugins)
    logger.info(`Loading plugin (priority: ${priority}): ${name}`);
}

/**
 * Start the daemon: load the settings (logging every ignored setting and warning once), open the stores
 * (SQLite created on first start; MySQL/PostgreSQL checked, never altered), create the plugins in iRedAPD's
 * order and listen.
 *
 * @throws PolicydError for invalid settings, a database that cannot be opened or lacks a needed table, or a
 * plugin that cannot be created; `EADDRINUSE` and the like when the address cannot be bound
 *
 * @example
 * ```ts
 * const daemon = await startDaemon({ config: '/opt/iredapd/settings.py' });
 * process.on('SIGHUP', () => void daemon.reload());
 * process.on('SIGTERM', () => void daemon.close());
 * ```
 */
export async function startDaemon(options: StartDaemonOptions = {}): Promise<Daemon> {
  const now = options.now ?? Date.now;
  const first = await loadSettings({
    ...(options.config === undefined ? {} : { file: options.config }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  const log: DaemonLog = createDaemonLog({
    level: options.logLevel ?? first.config.log.level,
    file: options.logFile ?? first.config.log.file,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const { logger } = log;
  logSettings(logger, first);

  const throttleLogger = logger.child({ plugin: 'throttle' });
  const throttleNotice = logThrottleNotice(throttleLogger);
  // One mailer for the daemon's life; each generation hands it its own NOTIFICATION_* settings.
  const mailer = createThrottleMailer({ logger: throttleLogger });
  const build = async (settings: LoadedSettings, storage: DaemonStorage) =>
    buildPolicy({
      config: settings.config,
      storage,
      logger,
      now,
      onLimitExceeded: (event) => {
        throttleNotice(event);
        mailer.notify(event, settings.config.notification);
      },
      ...(options.dns === undefined ? {} : { dns: options.dns }),
      ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
    });
  const newWriter = (storage: DaemonStorage) =>
    createSmtpSessionWriter(storage.smtpSessions, { logger: logger.child({ component: 'smtp_sessions' }) });

  const open = async (settings: LoadedSettings): Promise<DaemonStorage> => {
    const storage = await openDaemonStorage(settings.config, { logger });
    try {
      if (storage.created) await applyInstallDefaults(storage.stores.greylist, logger);
    } catch (err) {
      await storage.close();
      throw err;
    }
    return storage;
  };

  const firstStorage = await open(first);
  let built: Awaited<ReturnType<typeof build>>;
  try {
    built = await build(first, firstStorage);
  } catch (err) {
    await firstStorage.close();
    log.flush();
    throw err;
  }
  logOrder(logger, built.order);
  let current: Generation = {
    settings: first,
    storage: firstStorage,
    writer: newWriter(firstStorage),
    order: built.order,
  };
  const policy = swappablePolicy(built.policy);
  const infoEnabled = (): boolean => logger.isLevelEnabled('info');

  function onRequest(request: PolicyRequest, evaluation: Evaluation): void {
    const generation = current;
    if (infoEnabled()) {
      const line = requestLine(request, evaluation);
      logger.info(line.fields, line.msg);
    }
    if (generation.storage.disabled.has('iredapd')) return;
    const row = smtpSessionRow(request, evaluation.decision, now(), generation.settings.config.smtpSessions);
    if (row !== undefined) generation.writer.write(row);
  }

  const listen = {
    host: options.listen?.host ?? first.config.listen.host,
    port: options.listen?.port ?? first.config.listen.port,
  };
  const server: PolicyServer = createServer(policy, {
    logger,
    logRequests: false,
    onRequest,
    recipientDelimiters: first.config.recipientDelimiters,
    requestTimeoutMs: Math.max(DEFAULT_REQUEST_TIMEOUT_MS, 2 * pluginTimeoutMs(first.config)),
    ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
  });
  let bound: { host: string; port: number };
  try {
    const address = await server.listen(listen);
    bound = { host: listen.host, port: 'port' in address ? address.port : listen.port };
  } catch (err) {
    await server.close();
    await policy.close();
    await firstStorage.close();
    log.flush();
    throw err;
  }
  logger.info(
    `Starting policyd-iredapd (backend: ${firstStorage.description}), listening on ${bound.host}:${bound.port}.`,
  );

  let closing: Promise<void> | undefined;
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, restartNeeded: [] });

  async function reloadNow(): Promise<ReloadResult> {
    if (closing !== undefined) {
      return { ok: false, error: new Error('the daemon is closing') };
    }
    const old = current;
    let settings: LoadedSettings;
    try {
      settings = await loadSettings({
        ...(options.config === undefined ? {} : { file: options.config }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      });
    } catch (err) {
      logger.error({ err }, `reload: ${(err as Error).message}; keeping the running settings`);
      return { ok: false, error: err as Error };
    }
    const sameStorage = isDeepStrictEqual(settings.config.storage, old.settings.config.storage);
    let storage = old.storage;
    let next: Awaited<ReturnType<typeof build>>;
    try {
      if (!sameStorage) storage = await open(settings);
      next = await build(settings, storage);
    } catch (err) {
      if (storage !== old.storage) await storage.close();
      logger.error({ err }, `reload: ${(err as Error).message}; keeping the running settings`);
      return { ok: false, error: err as Error };
    }
    const restartNeeded: string[] = [];
    const was = old.settings.config;
    const is = settings.config;
    if (!isDeepStrictEqual(was.listen, is.listen)) restartNeeded.push('listen_address/listen_port');
    if (!isDeepStrictEqual(was.recipientDelimiters, is.recipientDelimiters)) {
      restartNeeded.push('RECIPIENT_DELIMITERS');
    }
    if (options.logFile === undefined && was.log.file !== is.log.file) restartNeeded.push('log_file');
    logSettings(logger, settings);
    logOrder(logger, next.order);
    if (options.logLevel === undefined) log.setLevel(is.log.level);
    current = {
      settings,
      storage,
      writer: sameStorage ? old.writer : newWriter(storage),
      order: next.order,
    };
    // The old plugins finish what they are running, then close; connections never notice.
    await policy.swap(next.policy);
    if (!sameStorage) {
      await old.writer.drain();
      await old.storage.close();
    }
    for (const what of restartNeeded) {
      logger.warn(`reload: ${what} changed; restart the daemon to apply it`);
    }
    logger.info(
      { plugins: next.order.plugins.map((p) => p.name), storageReopened: !sameStorage },
      `Reloaded settings${settings.file === undefined ? '' : ` from ${settings.file}`}.`,
    );
    return { ok: true, restartNeeded };
  }

  async function shutdown(): Promise<void> {
    await reloading;
    await server.close();
    await policy.close();
    await mailer.close();
    const generation = current;
    await generation.writer.drain();
    await generation.storage.close();
    logger.info('policyd-iredapd stopped.');
    log.flush();
  }

  return {
    address: bound,
    get settings() {
      return current.settings;
    },
    get order() {
      return current.order;
    },
    policy,
    logger,
    get connections() {
      return server.connections;
    },
    reload() {
      // A failed reload must not poison the chain: every call gets its own attempt.
      reloading = reloading.then(reloadNow, reloadNow);
      return reloading;
    },
    reopenLog: () => log.reopen(),
    flushSmtpSessions: () => current.writer.drain(),
    flushNotifications: () => mailer.idle(),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
