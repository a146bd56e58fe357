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
  ThrottleChargeCounters,
  ThrottleCounter,
  ThrottleCounterFilter,
  ThrottleRejection,
  ThrottleSetting,
  ThrottleStore,
  ThrottleWindow,
} from './throttle-store.ts';

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
}

/** A charge's window in unix seconds, and whether it has to be (re)started in storage. */
interface Effective {
  readonly messages: number;
  readonly bytes: number;
  readonly init: number;
  readonly lastNotify: number;
  readonly fresh: boolean;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const counterKey = (settingId: number, account: string): string => JSON.stringify([settingId, account]);

function windowOf(e: Pick<Effective, 'messages' | 'bytes' | 'init' | 'lastNotify'>): ThrottleWindow {
  return {
    messages: e.messages,
    bytes: e.bytes,
    windowStartAt: fromUnixSeconds(e.init),
    lastNotifiedAt: fromUnixSeconds(e.lastNotify),
  };
}

function counterOf(row: CounterRow): ThrottleCounter {
  return {
    settingId: row.settingId,
    trackingAccount: row.trackingAccount,
    periodSeconds: row.period,
    ...windowOf(row),
    lastUpdatedAt: fromUnixSeconds(row.last),
  };
}

/** Create an empty in-memory throttle store. */
export function createMemoryThrottleStore(): ThrottleStore {
  const settings = new Map<number, ThrottleSetting>();
  const counters = new Map<string, CounterRow>();
  let nextId = 1;

  function effective(row: CounterRow | undefined, period: number, now: number): Effective {
    if (row === undefined) return { messages: 0, bytes: 0, init: now, lastNotify: 0, fresh: true };
    // A window never started (init 0, written by another tool) starts now with its counts.
    const { messages, bytes, lastNotify } = row;
    if (row.init === 0) return { messages, bytes, init: now, lastNotify, fresh: true };
    if (now > row.init + period) return { messages: 0, bytes: 0, init: now, lastNotify, fresh: true };
    return { messages, bytes, init: row.init, lastNotify, fresh: false };
  }

  function matches(row: CounterRow, filter: ThrottleCounterFilter): boolean {
    return (
      (filter.settingId === undefined || row.settingId === filter.settingId) &&
      (filter.trackingAccount === undefined || row.trackingAccount === filter.trackingAccount)
    );
  }

  function write(
    settingId: number,
    trackingAccount: string,
    period: number,
    now: number,
    e: Effective,
  ): CounterRow {
    const key = counterKey(settingId, trackingAccount);
    const row: CounterRow = counters.get(key) ?? {
      settingId,
      trackingAccount,
      period,
      messages: 0,
      bytes: 0,
      init: now,
      last: now,
      lastNotify: 0,
    };
    row.period = period;
    row.messages = e.messages;
    row.bytes = e.bytes;
    row.init = e.init;
    row.last = now;
    row.lastNotify = e.lastNotify;
    counters.set(key, row);
    return row;
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
      const windows = charges.map((c) =>
        effective(counters.get(counterKey(c.settingId, c.trackingAccount)), c.periodSeconds, now),
      );
      let rejection: ThrottleRejection | undefined;
      for (const [index, charge] of charges.entries()) {
        const e = windows[index]!;
        const maxMessages = charge.maxMessages ?? 0;
        const maxQuotaBytes = charge.maxQuotaBytes ?? 0;
        let limit: ThrottleRejection['limit'] | undefined;
        if (maxMessages > 0 && e.messages + charge.messages > maxMessages) limit = 'messages';
        else if (maxQuotaBytes > 0 && e.bytes > maxQuotaBytes) limit = 'bytes';
        if (limit === undefined) continue;
        // Only the rejecting counter is written: its window (when new) and the notification mark.
        const notify = e.lastNotify < e.init;
        if (e.fresh || notify) {
          write(charge.settingId, charge.trackingAccount, charge.periodSeconds, now, {
            ...e,
            lastNotify: notify ? now : e.lastNotify,
          });
        }
        rejection = { index, limit, notify };
        break;
      }
      if (rejection !== undefined) {
        const rejected = rejection;
        const result: ThrottleChargeCounters[] = windows.map((e, i) => {
          const before = windowOf(e);
          const after =
            i === rejected.index && rejected.notify ? windowOf({ ...e, lastNotify: now }) : before;
          return { before, after };
        });
        return { admitted: false, rejection: rejected, counters: result };
      }
      const result = charges.map((charge, i): ThrottleChargeCounters => {
        const e = windows[i]!;
        const row = write(charge.settingId, charge.trackingAccount, charge.periodSeconds, now, {
          ...e,
          messages: e.messages + charge.messages,
          bytes: e.bytes + charge.bytes,
        });
        return { before: windowOf(e), after: windowOf(row) };
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
