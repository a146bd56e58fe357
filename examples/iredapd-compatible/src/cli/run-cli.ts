/**
 * `policyd-admin`: every admin command as a subcommand of one program, run in-process with the given streams
 * so that the binaries and the tests share one entry point. iRedAPD's tool names are aliases of the
 * subcommands (`policyd-admin wblist_admin …`), and the compatibility binaries call this with that prefix.
 */

import { isPolicydError } from '@policyd/core';
import { Command, CommanderError } from 'commander';
import { registerCleanupCommand } from './cleanup.ts';
import type { CommandEnv } from './command-env.ts';
import { describeError } from './context.ts';
import { registerGreylistingCommand } from './greylisting.ts';
import { CliError, type CliIo, EXIT, errorLine } from './io.ts';
import { registerSpfWhitelistsCommand } from './spf-whitelists.ts';
import { registerThrottleCommand } from './throttle.ts';
import { registerWblistCommand } from './wblist.ts';

const HELP_WIDTH = 100;

const EPILOG = `
iRedAPD's tools map to these commands (the old names work as commands and as binaries):
  wblist_admin.py                  policyd-admin wblist            (binary: wblist_admin)
  greylisting_admin.py             policyd-admin greylisting       (binary: greylisting_admin)
  spf_to_greylist_whitelists.py    policyd-admin spf-whitelists    (binary: spf_to_greylist_whitelists)
  cleanup_db.py                    policyd-admin cleanup           (binary: cleanup_db)
  fix_throttle_priority.py         policyd-admin throttle fix-priorities

Every command reads the daemon's settings: --config /opt/iredapd/settings.py, or without it SQLite in
./data (--data-dir). Exit status: 0 done, 1 invalid arguments or settings (nothing written),
2 database failure, 3 some whitelist domains could not be resolved.
`;

function failure(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) return err.exitCode; // commander printed its message already
  if (err instanceof CliError) {
    errorLine(io, err.message);
    return err.exitStatus;
  }
  if (isPolicydError(err)) {
    if (err.code === 'POLICYD_ERR_INVALID_ACCOUNT' || err.code === 'POLICYD_ERR_INVALID_OPTION') {
      errorLine(io, err.message);
      return EXIT.usage;
    }
    errorLine(io, `database error: ${describeError(err)}`);
    return EXIT.failure;
  }
  errorLine(io, describeError(err));
  return EXIT.failure;
}

/**
 * Build the `policyd-admin` program on the given streams. Exposed for help generation and tests; most callers
 * want {@link runCli}.
 */
export function createAdminProgram(env: CommandEnv): Command {
  const { io } = env;
  const program = new Command('policyd-admin')
    .description("Manage policyd's white/blacklists, greylisting and throttling, as iRedAPD's tools do.")
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EPILOG);
  registerWblistCommand(program, env);
  registerGreylistingCommand(program, env);
  registerSpfWhitelistsCommand(program, env);
  registerCleanupCommand(program, env);
  registerThrottleCommand(program, env);
  return program;
}

/**
 * Run `policyd-admin` with the arguments after the program name.
 *
 * @returns the exit status (see {@link EXIT}); never throws for bad input or database failures, which are
 *   printed on `io.stderr`
 *
 * @example
 * ```ts
 * const status = await runCli(['wblist', '--list', '--whitelist'], { stdout: process.stdout, stderr: process.stderr });
 * process.exitCode = status;
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status: number = EXIT.ok;
  const env: CommandEnv = {
    io,
    setExit: (value) => {
      status = value;
    },
  };
  try {
    await createAdminProgram(env).parseAsync([...argv], { from: 'user' });
    return status;
  } catch (err) {
    return failure(err, io);
  }
}
