/**
 * The process side of the admin binaries: run {@link runCli} on the process's arguments and streams and set
 * the exit status. The binaries in `src/bin/` are one call each.
 */

import { runCli } from './run-cli.ts';

/**
 * Run `policyd-admin`, or one of iRedAPD's tool names when `prefix` names its subcommand, on `process.argv`.
 *
 * @param prefix - arguments placed before the user's, e.g. `['wblist']` for the `wblist_admin` binary
 *
 * @example
 * ```ts
 * await main(['cleanup']); // the cleanup_db binary
 * ```
 */
export async function main(prefix: readonly string[] = []): Promise<void> {
  // `policyd-admin … | head` closes stdout early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await runCli([...prefix, ...process.argv.slice(2)], {
    stdout: process.stdout,
    stderr: process.stderr,
  });
}
