/**
 * What every admin command shares: its I/O, the database options, and iRedAPD's rule for flags that exclude
 * each other (the first one present in a fixed order wins).
 */

import type { Command } from 'commander';
import { type CliIo, line } from './io.ts';

/** What a command's action gets besides its arguments. */
export interface CommandEnv {
  /** Streams, clock and DNS. */
  readonly io: CliIo;
  /** Record the exit status of the run (default 0). */
  setExit(status: number): void;
}

/** Add `--config` and `--data-dir`, the daemon's own database options, to a command. */
export function addDatabaseOptions(command: Command): Command {
  return command
    .optionsGroup('Database (the same as the daemon):')
    .option('-c, --config <file>', "the daemon's settings.py (or JSON settings); default: stand-alone SQLite")
    .option('-d, --data-dir <dir>', 'directory of the default SQLite file (default ./data)');
}

/**
 * The first flag of `order` that is set, as iRedAPD's tools pick one operation or list; when more than one
 * is set, a note on stderr says which one was used (iRedAPD ignored the others silently).
 *
 * @returns the chosen key, or `undefined` when none is set
 */
export function firstFlag<K extends string>(
  io: CliIo,
  flags: Partial<Record<K, unknown>>,
  order: readonly K[],
  spell: (key: K) => string,
): K | undefined {
  const set = order.filter((key) => flags[key] === true);
  const [chosen, ...ignored] = set;
  if (chosen !== undefined && ignored.length > 0) {
    line(
      io.stderr,
      `* Note: ${spell(chosen)} takes precedence; ignoring ${ignored.map(spell).join(', ')} (as iRedAPD does).`,
    );
  }
  return chosen;
}

/** `--delete-all` for `deleteAll`: how commander names a flag's key. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Pad to a width like Python's `%-Ns` (never cut). */
export function pad(text: string, width: number): string {
  return text.padEnd(width, ' ');
}
