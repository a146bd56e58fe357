/**
 * The command line: `policyd-iredapd [--config settings.py] [--data-dir dir] [--log-level l] [--log-file f]`
 * starts the daemon; `--print-plugins` shows the effective plugin order; `explain name=value …` runs one
 * request as a dry run. Everything goes through {@link DaemonCliIo}, so tests run it without a process.
 */

import { Command, CommanderError, Option } from 'commander';
import { type Daemon, type StartDaemonOptions, startDaemon } from './daemon.ts';
import { explainRequest, formatExplain } from './explain.ts';
import { selectPlugins } from './plugin-table.ts';
import { formatPluginOrder } from './print-plugins.ts';
import { parseAttributeArgs, parseAttributeText } from './request-attributes.ts';
import type { DaemonLogLevel } from './settings/daemon-config.ts';
import { loadSettings } from './settings/load-settings.ts';
import { handleSignals, type SignalSource } from './signals.ts';

/** What the CLI reads and writes. */
export interface DaemonCliIo {
  /** Normal output. */
  stdout(text: string): void;
  /** Errors and usage. */
  stderr(text: string): void;
  /** The whole of standard input (for `explain` without attributes). */
  readStdin(): Promise<string>;
  /** Signals for the running daemon; default `process`. */
  readonly signals?: SignalSource;
  /** Called once the daemon listens (tests). */
  onDaemon?(daemon: Daemon): void;
  /** Extra daemon options (tests: a clock, DNS, a log destination, the listen address). */
  readonly daemonOptions?: Partial<StartDaemonOptions>;
}

/** Exit status for settings that cannot be used (sysexits' EX_CONFIG); systemd does not restart on it. */
export const EXIT_CONFIG = 78;

/** Exit status for anything else that stops the daemon from starting (a database that cannot be reached …). */
export const EXIT_FAILURE = 1;

const LOG_LEVELS: Readonly<Record<string, DaemonLogLevel>> = Object.freeze({
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
});

interface GlobalOptions {
  readonly config?: string;
  readonly dataDir?: string;
  readonly printPlugins?: boolean;
  readonly logLevel?: string;
  readonly logFile?: string;
}

function exitCodeOf(err: unknown): number {
  const code = (err as { code?: unknown }).code;
  return code === 'POLICYD_ERR_INVALID_OPTION' ? EXIT_CONFIG : EXIT_FAILURE;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function common(command: Command): Command {
  return command
    .option('-c, --config <file>', "iRedAPD's settings.py, or a .json file with the same keys")
    .option('-d, --data-dir <dir>', 'directory of the default SQLite database (without a settings file)');
}

/**
 * Build the program (commander). `run` resolves with the exit status; for the daemon that is after it stopped.
 */
export function createDaemonCli(io: DaemonCliIo): {
  readonly program: Command;
  run(argv: readonly string[]): Promise<number>;
} {
  let status = 0;
  const program = common(new Command('policyd-iredapd'))
    .description(
      'A drop-in replacement for iRedAPD: the same settings.py, plugins, databases and answers to Postfix.\n' +
        'Without --config it runs stand-alone: SQLite under ./data, listening on 127.0.0.1:7777.',
    )
    .option('--print-plugins', 'print the effective plugin order (priority, name, states) and exit')
    .addOption(new Option('--log-level <level>', 'overrides log_level').choices(Object.keys(LOG_LEVELS)))
    .option('--log-file <file>', 'log to this file instead of stdout (overrides log_file)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .action(async (options: GlobalOptions) => {
      status = options.printPlugins === true ? await printPlugins(options) : await runDaemon(options);
    });

  common(program.command('explain'))
    .description(
      'Run one request through the configured plugins and show what each decided, why and how long it took.\n' +
        'A dry run: everything happens inside a database transaction that is rolled back, so greylisting\n' +
        'records no attempt, throttle consumes no counter and no smtp_sessions row is written.',
    )
    .argument('[attributes...]', 'name=value pairs (sender=… recipient=… client_address=…); none or -: stdin')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  policyd-iredapd --config /opt/iredapd/settings.py explain sender=a@example.net \\\n' +
        '    recipient=postmaster@example.com client_address=192.0.2.10 protocol_state=RCPT\n',
    )
    .action(async (attributes: string[], _options: unknown, command: Command) => {
      status = await explain(attributes, command.optsWithGlobals() as GlobalOptions & { json?: boolean });
    });

  async function printPlugins(options: GlobalOptions): Promise<number> {
    try {
      const settings = await loadSettings({
        ...(options.config === undefined ? {} : { file: options.config }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      });
      io.stdout(formatPluginOrder(selectPlugins(settings.config.plugins)));
      return 0;
    } catch (err) {
      io.stderr(`policyd-iredapd: ${messageOf(err)}\n`);
      return exitCodeOf(err);
    }
  }

  async function explain(args: string[], options: GlobalOptions & { json?: boolean }): Promise<number> {
    try {
      const fromStdin = args.length === 0 || (args.length === 1 && args[0] === '-');
      const attributes = fromStdin ? parseAttributeText(await io.readStdin()) : parseAttributeArgs(args);
      const extra = io.daemonOptions ?? {};
      const report = await explainRequest({
        attributes,
        ...(options.config === undefined ? {} : { config: options.config }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(extra.now === undefined ? {} : { now: extra.now }),
        ...(extra.dns === undefined ? {} : { dns: extra.dns }),
        ...(extra.hostname === undefined ? {} : { hostname: extra.hostname }),
      });
      if (options.json === true) {
        const { settings, request, ...rest } = report;
        io.stdout(
          `${JSON.stringify(
            { settings: settings.file ?? null, request: Object.fromEntries(request.attrs), ...rest },
            null,
            2,
          )}\n`,
        );
      } else {
        io.stdout(formatExplain(report));
      }
      return 0;
    } catch (err) {
      io.stderr(`policyd-iredapd explain: ${messageOf(err)}\n`);
      return exitCodeOf(err);
    }
  }

  async function runDaemon(options: GlobalOptions): Promise<number> {
    let daemon: Daemon;
    try {
      daemon = await startDaemon({
        ...io.daemonOptions,
        ...(options.config === undefined ? {} : { config: options.config }),
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(options.logLevel === undefined ? {} : { logLevel: LOG_LEVELS[options.logLevel]! }),
        ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
      });
    } catch (err) {
      io.stderr(`policyd-iredapd: cannot start: ${messageOf(err)}\n`);
      return exitCodeOf(err);
    }
    const signals = handleSignals(daemon, io.signals);
    io.onDaemon?.(daemon);
    const code = await signals.stopped;
    signals.dispose();
    return code;
  }

  return {
    program,
    async run(argv) {
      status = 0;
      try {
        await program.parseAsync([...argv], { from: 'user' });
      } catch (err) {
        if (err instanceof CommanderError) return err.exitCode;
        throw err;
      }
      return status;
    },
  };
}
