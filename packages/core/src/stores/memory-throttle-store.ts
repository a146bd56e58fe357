/**
 * In-memory {@link ThrottleStore}: iRedAPD's `throttle` and `throttle_tracking` tables as maps, times kept in
 * whole seconds like the SQL tables. `consume` checks and counts synchronously, so concurrent callers never
 * interleave and a limit of N admits exactly N.
 */

import { parseAccount } from '../accounts.ts';
import { PolicydError } from '../errors.ts';
import { cleanupRows } from './memory-cleanup.ts';
import { fromUnixSeconds, toUnixSeconds } from './store-time.ts';
import {
  checkCounterFilter,
  checkThrottleCharges,
  parseThrottleKind,
  type ResolvedThrottleSetting,
  resolveThrottleSetting,
} from './throttle-input.ts';
import type {
  ThrottleCharge,
  ThrottleChargeCounters,
  ThrottleCounter,
  ThrottleCounterFilter,
  ThrottleRejection,
  ThrottleSetting,
  ThrottleStore,
} from './throttle-store.ts';
import {
  countThrottleCharge,
  exceededThrottleLimit,
  storedThrottlePeriod,
  type ThrottleWindowState,
  throttleWindowOf,
  throttleWindowState,
} from './throttle-window.ts';

/** A `throttle_tracking` row; times in unix seconds. */
interface CounterRow {
  readonly settingId: number;
  readonly trackingAccount: string;
  period: number;
  messages: number;
  bytes: number;
  init: number;
  last: number;
  lastNotify: number;
  /** Set by sliding charges: the previous window's counts. */
  previous: { messages: number; bytes: number } | undefined;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const counterKey = (settingId: number, account: string): string => JSON.stringify([settingId, account]);

function counterOf(row: CounterRow): ThrottleCounter {
  const counter: ThrottleCounter = {
    settingId: row.settingId,
    trackingAccount: row.trackingAccount,
    periodSeconds: row.period,
    messages: row.messages,
    bytes: row.bytes,
    windowStartAt: fromUnixSeconds(row.init),
    lastNotifiedAt: fromUnixSeconds(row.lastNotify),
    lastUpdatedAt: fromUnixSeconds(row.last),
  };
  if (row.previous === undefined) return counter;
  return { ...counter, previousMessages: row.previous.messages, previousBytes: row.previous.bytes };
}

/** Create an empty in-memory throttle store. */
export function createMemoryThrottleStore(): ThrottleStore {
  const settings = new Map<number, ThrottleSetting>();
  const counters = new Map<string, CounterRow>();
  let nextId = 1;

  function stateOf(charge: ThrottleCharge, now: number): ThrottleWindowState {
    const row = counters.get(counterKey(charge.settingId, charge.trackingAccount));
    if (row === undefined) return throttleWindowState(undefined, charge, now);
    return throttleWindowState(
      {
        messages: row.messages,
        bytes: row.bytes,
        windowStart: row.init,
        lastNotified: row.lastNotify,
        ...(row.previous === undefined
          ? {}
          : { previousMessages: row.previous.messages, previousBytes: row.previous.bytes }),
      },
      charge,
      now,
    );
  }

  function matches(row: CounterRow, filter: ThrottleCounterFilter): boolean {
    return (
      (filter.settingId === undefined || row.settingId === filter.settingId) &&
      (filter.trackingAccount === undefined || row.trackingAccount === filter.trackingAccount)
    );
  }

  function write(charge: ThrottleCharge, now: number, state: ThrottleWindowState): void {
    const { settingId, trackingAccount } = charge;
    counters.set(counterKey(settingId, trackingAccount), {
      settingId,
      trackingAccount,
      period: storedThrottlePeriod(charge),
      messages: state.messages,
      bytes: state.bytes,
      init: state.windowStart,
      last: now,
      lastNotify: state.lastNotified,
      previous:
        (charge.algorithm ?? 'fixed') === 'fixed'
          ? undefined
          : { messages: state.previousMessages, bytes: state.previousBytes },
    });
  }

  const store: ThrottleStore = {
    async findSettings(queries) {
      return queries.map((query) => {
        const kind = parseThrottleKind(query.kind);
        const accounts = new Set(query.accounts);
        return [...settings.values()]
          .filter((s) => s.kind === kind && accounts.has(s.account))
          .sort((a, b) => b.priority - a.priority || byText(a.account, b.account) || a.id - b.id);
      });
    },

    async consume(charges, nowMs) {
      checkThrottleCharges(charges);
      const now = toUnixSeconds(nowMs, 'now');
      for (const charge of charges) {
        if (!settings.has(charge.settingId)) {
          throw new PolicydError(
            'POLICYD_ERR_INVALID_OPTION',
            `throttle setting ${charge.settingId} does not exist`,
            {
              value: charge.settingId,
            },
          );
        }
      }
      const states = charges.map((charge) => stateOf(charge, now));
      let rejection: ThrottleRejection | undefined;
      for (const [index, charge] of charges.entries()) {
        const state = states[index]!;
        const limit = exceededThrottleLimit(state, charge, now);
        if (limit === undefined) continue;
        // Only the rejecting counter is written: its window (when new or rolled) and the notification mark.
        const notify = state.lastNotified < state.windowStart;
        if (state.fresh || notify)
          write(charge, now, { ...state, lastNotified: notify ? now : state.lastNotified });
        rejection = { index, limit, notify };
        break;
      }
      if (rejection !== undefined) {
        const rejected = rejection;
        const result = charges.map((charge, i): ThrottleChargeCounters => {
          const state = states[i]!;
          const before = throttleWindowOf(state, charge);
          if (i !== rejected.index || !rejected.notify) return { before, after: before };
          return { before, after: throttleWindowOf({ ...state, lastNotified: now }, charge) };
        });
        return { admitted: false, rejection: rejected, counters: result };
      }
      const result = charges.map((charge, i): ThrottleChargeCounters => {
        const state = states[i]!;
        const counted = countThrottleCharge(state, charge);
        write(charge, now, counted);
        return { before: throttleWindowOf(state, charge), after: throttleWindowOf(counted, charge) };
      });
      return { admitted: true, counters: result };
    },

    async listSettings(filter = {}) {
      const account = filter.account === undefined ? undefined : parseAccount(String(filter.account)).account;
      const kind = filter.kind === undefined ? undefined : parseThrottleKind(filter.kind);
      return [...settings.values()]
        .filter(
          (s) => (account === undefined || s.account === account) && (kind === undefined || s.kind === kind),
        )
        .sort((a, b) => byText(a.account, b.account) || byText(a.kind, b.kind) || a.id - b.id);
    },

    async setSetting(input) {
      const resolved: ResolvedThrottleSetting = resolveThrottleSetting(input);
      const existing = [...settings.values()].find(
        (s) => s.account === resolved.account && s.kind === resolved.kind,
      );
      const id = existing?.id ?? nextId++;
      const setting: ThrottleSetting = { id, ...resolved };
      settings.set(id, setting);
      return setting;
    },

    async deleteSetting(accountValue, kindValue) {
      const account = parseAccount(String(accountValue)).account;
      const kind = parseThrottleKind(kindValue);
      let deleted = false;
      for (const setting of [...settings.values()]) {
        if (setting.account !== account || setting.kind !== kind) continue;
        settings.delete(setting.id);
        for (const [key, row] of counters) if (row.settingId === setting.id) counters.delete(key);
        deleted = true;
      }
      return deleted;
    },

    async listCounters(filter) {
      checkCounterFilter(filter);
      return [...counters.values()]
        .filter((row) => matches(row, filter))
        .sort((a, b) => a.settingId - b.settingId || byText(a.trackingAccount, b.trackingAccount))
        .map(counterOf);
    },

    async resetCounters(filter) {
      checkCounterFilter(filter);
      let deleted = 0;
      for (const [key, row] of counters) {
        if (!matches(row, filter)) continue;
        counters.delete(key);
        deleted++;
      }
      return deleted;
    },

    async cleanup(options) {
      return cleanupRows(counters, (row, now) => row.init + row.period < now, options);
    },
  };
  return store;
}
