/**
 * Turning driver failures into `PolicydError('POLICYD_ERR_STORE')`, so that a plugin's error policy applies
 * whatever went wrong underneath (connection refused, pool timeout, lost connection, SQL error).
 */

import { isPolicydError, PolicydError } from '@policyd/core';

/**
 * Wrap an error from the database layer. A `PolicydError` (validation, a rule of the store) passes through
 * unchanged; anything else becomes `POLICYD_ERR_STORE` naming the operation, with the driver's error as `cause`.
 *
 * @param operation - what was being done, e.g. `wblist.lookup`
 * @param err - the error thrown by knex or the driver
 */
export function storeError(operation: string, err: unknown): PolicydError {
  if (isPolicydError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PolicydError('POLICYD_ERR_STORE', `${operation} failed: ${message}`, { cause: err });
}

/**
 * Run `fn` and convert any failure with {@link storeError}. Every public store method goes through this.
 *
 * @example
 * ```ts
 * lookup: (query) => withStoreErrors('wblist.lookup', async () => { … }),
 * ```
 */
export async function withStoreErrors<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storeError(operation, err);
  }
}
