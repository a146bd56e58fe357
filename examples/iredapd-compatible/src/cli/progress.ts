/**
 * A progress line for long runs, drawn only on a terminal: it is rewritten in place (`\r`, erase to the end of
 * the line) and cleared before any other output, so that logs and cron mail never see it.
 */

import type { CliStream } from './io.ts';

/** A progress line on one stream. */
export interface Progress {
  /** True when something is drawn (the stream is a terminal). */
  readonly active: boolean;
  /** Replace the line's text. */
  update(text: string): void;
  /** Remove the line, so that the next output starts on a clean line. */
  clear(): void;
}

const ERASE_LINE = '\r\u001b[K';

/**
 * A progress line on `stream`, or one that draws nothing when the stream is not a terminal.
 *
 * @example
 * ```ts
 * const progress = createProgress(process.stdout);
 * progress.update('Refreshing 3/49 domains');
 * progress.clear();
 * ```
 */
export function createProgress(stream: CliStream): Progress {
  const active = stream.isTTY === true;
  let shown = false;
  return {
    active,
    update(text) {
      if (!active) return;
      stream.write(`${ERASE_LINE}${text}`);
      shown = true;
    },
    clear() {
      if (!shown) return;
      stream.write(ERASE_LINE);
      shown = false;
    },
  };
}
