#!/usr/bin/env node
/**
 * `policyd-iredapd`: the drop-in iRedAPD replacement daemon. See `daemon-cli.ts` for the command line and
 * `daemon.ts` for `startDaemon`, the programmatic entry point.
 *
 * @example
 * ```sh
 * node src/main.ts                                   # stand-alone: SQLite under ./data, 127.0.0.1:7777
 * node src/main.ts --config /opt/iredapd/settings.py # iRedAPD's settings and databases
 * node src/main.ts --print-plugins --config /opt/iredapd/settings.py
 * node src/main.ts explain sender=a@example.net recipient=b@example.com client_address=192.0.2.10
 * ```
 *
 * However it is started, it runs with the Node.js flags and environment of `node-flags.ts` (`DAEMON_NODE_FLAGS`,
 * `DAEMON_ENVIRONMENT`): when they are missing, the process replaces itself once (same PID) by `node <flags>
 * src/main.ts <arguments>` with them.
 *
 * @packageDocumentation
 */

import { applyDaemonNodeFlags } from './node-flags.ts';

// Before the daemon's modules load (hence the dynamic import below): when a flag is missing, this call does not
// return; the process starts again with the flags.
const missing = applyDaemonNodeFlags(process);
if (missing.length > 0) {
  process.stderr.write(
    `policyd-iredapd: running without ${missing.join(' ')} (this Node.js cannot restart itself with them): ` +
      'expect more memory (up to about 100 MB without the flags, ≈ 12 MB without MALLOC_ARENA_MAX)\n',
  );
}
const { createDaemonCli } = await import('./daemon-cli.ts');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// Files the daemon creates (the SQLite database, a log file) are private, as iRedAPD's umask 077 makes them.
process.umask(0o077);
const cli = createDaemonCli({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
});
const code = await cli.run(process.argv.slice(2));
process.exitCode = code;
// After a clean stop nothing is left running. Otherwise (a second stop signal while connections were still
// closing, or a failed start) do not wait for anything.
if (code !== 0) process.exit(code);
