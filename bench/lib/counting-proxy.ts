/** Store-call counting for the bench scripts. */

/** What {@link countingProxy} counts into. */
export interface CallCounter {
  /** Calls counted so far. */
  calls: number;
  /** Count only calls made at or after this `performance.now()` time; every call when absent. */
  readonly from?: number;
}

/**
 * A proxy of `store` that counts every method call into `counter`.
 *
 * @param store - The store (or any object) to wrap.
 * @param counter - Incremented on each counted call.
 * @returns The proxy; the methods run with `store` as `this`.
 */
export function countingProxy<T extends object>(store: T, counter: CallCounter): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (counter.from === undefined || performance.now() >= counter.from) counter.calls++;
        return Reflect.apply(value, target, args);
      };
    },
  });
}
