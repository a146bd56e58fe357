/**
 * What the greylisting suites need from a storage backend, and helpers shared by the suites: a factory of
 * fresh stores (memory or SQL), a call counter that measures sequential store round trips, and request
 * builders.
 */

import {
  createMemoryDomainStore,
  createMemoryGreylistStore,
  type DomainSeed,
  type DomainStore,
  type GreylistSeed,
  type GreylistStore,
  type PolicyContext,
  type PolicyRequest,
  silentLogger,
} from '@policyd/core';
import { policyRequest, type RequestAttributes } from '@policyd/core/testing';
import { afterEach, beforeEach } from 'vitest';

/** Fresh stores for one test. */
export interface GreylistingStores {
  /** The greylisting store, empty. */
  readonly greylist: GreylistStore;
  /** The domain store, empty. */
  readonly domains: DomainStore;
  /** Insert raw greylisting rows verbatim (other priorities, mixed case …), as iRedAPD's tools left them. */
  seedGreylist(seed: GreylistSeed): Promise<void>;
  /** Insert raw vmail rows. */
  seedDomains(seed: DomainSeed): Promise<void>;
  /** Release the stores. */
  close(): Promise<void>;
}

/** Makes fresh stores; called before every test. */
export type StoresFactory = () => Promise<GreylistingStores>;

/** The memory backend. */
export const memoryStores: StoresFactory = async () => {
  const greylist = createMemoryGreylistStore();
  const domains = createMemoryDomainStore();
  return {
    greylist,
    domains,
    seedGreylist: async (seed) => greylist.seed(seed),
    seedDomains: async (seed) => domains.seed(seed),
    close: async () => undefined,
  };
};

/** Register hooks that make fresh stores per test; returns a getter. Call inside a `describe`. */
export function useStores(factory: StoresFactory): () => GreylistingStores {
  let current: GreylistingStores | undefined;
  beforeEach(async () => {
    current = await factory();
  });
  afterEach(async () => {
    const stores = current;
    current = undefined;
    await stores?.close();
  });
  return () => {
    if (current === undefined) throw new Error('stores used outside a test');
    return current;
  };
}

/** Store calls of one decision: their names in order, and how many sequential waits ("round trips"). */
export interface CallLog {
  /** Method names, in call order. */
  readonly calls: string[];
  /** Sequential round trips: a call that starts while none is in flight starts a new one. */
  rounds: number;
  /** Calls in flight now. */
  inflight: number;
}

/** A new, empty {@link CallLog}. */
export function callLog(): CallLog {
  return { calls: [], rounds: 0, inflight: 0 };
}

/** Forget what was counted (e.g. before the decision under test). */
export function resetLog(log: CallLog): void {
  log.calls.length = 0;
  log.rounds = 0;
}

/** Wrap a store so that every method call is logged in `log` (shared between stores of one decision). */
export function counted<S extends object>(store: S, log: CallLog): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        log.calls.push(String(property));
        if (log.inflight === 0) log.rounds++;
        log.inflight++;
        let result: Promise<unknown>;
        try {
          result = Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args));
        } catch (err) {
          result = Promise.reject(err);
        }
        return result.finally(() => {
          log.inflight--;
        });
      };
    },
  });
}

/** A per-request context with the given clock. */
export function context(
  now: () => number,
  signal: AbortSignal = new AbortController().signal,
): PolicyContext {
  return { log: silentLogger, now, signal, session: new Map() };
}

/** A RCPT request: the core test defaults (sender@example.net → user@example.com from 192.0.2.10) overridden. */
export function request(attrs: RequestAttributes = {}): PolicyRequest {
  return policyRequest(attrs);
}

/** Enables greylisting for everyone (iRedAPD's `SQL/enable_global_greylisting.sql`). */
export const GLOBAL_ON: GreylistSeed = {
  settings: [{ account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: 1 }],
};

/** Milliseconds in a minute and a day, for readable clock moves. */
export const MINUTE = 60_000;
/** Milliseconds in a day. */
export const DAY = 86_400_000;
