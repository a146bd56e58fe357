/**
 * DNS deadlines and error classes shared by the SPF bypass and the whitelist-domain refresh. A stalled name
 * server must never stall a request: every look-up is raced against an `AbortSignal`, and the caller stops
 * waiting when it fires, whatever the resolver does.
 */

/** The `node:dns` error code of a failure, or `undefined`. */
export function dnsErrorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True for "no such name" and "no records of that type": an empty answer, not a failure (RFC 7208 void). */
export function isVoidAnswer(err: unknown): boolean {
  const code = dnsErrorCode(err);
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/** An error shaped like `node:dns`'s timeout (`code: 'ETIMEOUT'`). */
export function dnsTimeoutError(what: string): Error {
  return Object.assign(new Error(`DNS timeout: ${what}`), { code: 'ETIMEOUT' });
}

/**
 * Settle with `work`, or reject with an `ETIMEOUT` error as soon as `signal` aborts (at once if it already
 * has). The listener is removed when `work` settles, so nothing leaks per look-up.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(dnsTimeoutError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(dnsTimeoutError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
