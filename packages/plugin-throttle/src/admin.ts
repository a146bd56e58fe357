/**
 * The throttle admin API: settings of an account and kind (what iRedAdmin writes), their counters, and
 * `fix_throttle_priority.py`, over any `ThrottleStore`.
 */

import {
  accountPriority,
  normalizeIp,
  PolicydError,
  parseAccount,
  parseThrottleKind,
  resolveThrottleSetting,
  type ThrottleCounter,
  type ThrottleKind,
  type ThrottleSetting,
  type ThrottleSettingInput,
  type ThrottleStore,
} from '@policyd/core';

/** Counters of one setting (optionally of one tracking key), or every counter of one tracking key. */
export type ThrottleCounterQuery =
  | { readonly account: string; readonly kind: ThrottleKind; readonly trackingAccount?: string }
  | { readonly trackingAccount: string };

/** A counter with its setting and where its window stands. */
export interface ThrottleCounterView extends ThrottleCounter {
  /** The setting it counts for; `undefined` for a counter left without its setting by another tool. */
  readonly setting: ThrottleSetting | undefined;
  /**
   * When the current window ends, in milliseconds since the epoch (a counter written by a sliding charge stores
   * twice its period; its window is the first half).
   */
  readonly windowEndsAt: number;
  /** True when the window has ended: the next message starts a new one (fixed) or rolls over (sliding). */
  readonly ended: boolean;
}

/** A priority {@link ThrottleAdmin.fixPriorities} changed. */
export interface ThrottlePriorityFix {
  /** The setting, as it was. */
  readonly setting: ThrottleSetting;
  /** The new priority. */
  readonly priority: number;
}

/** What {@link ThrottleAdmin.fixPriorities} did. */
export interface ThrottlePriorityReport {
  /** Settings whose priority was changed. */
  readonly fixed: readonly ThrottlePriorityFix[];
  /**
   * Settings left alone because their account is not stored in canonical form (mixed case, another IP
   * spelling, not an account at all), so the store API cannot address that row.
   */
  readonly skipped: readonly ThrottleSetting[];
}

/** Typed admin operations on throttle settings and counters. */
export interface ThrottleAdmin {
  /**
   * Create or replace the setting of an account and kind. Omitted limits are `-1` (inherit); the priority
   * defaults to the account form's `ACCOUNT_PRIORITIES` (as `fix_throttle_priority.py` computes it, networks 70).
   */
  set(input: ThrottleSettingInput): Promise<ThrottleSetting>;
  /** Settings, optionally of one account and/or kind, by account, kind, id. */
  list(filter?: {
    readonly account?: string;
    readonly kind?: ThrottleKind;
  }): Promise<readonly ThrottleSetting[]>;
  /** The setting of an account and kind, or `undefined`. */
  get(account: string, kind: ThrottleKind): Promise<ThrottleSetting | undefined>;
  /** Delete the setting of an account and kind, with its counters. @returns whether it existed */
  delete(account: string, kind: ThrottleKind): Promise<boolean>;
  /** Current counters, by setting id and tracking key. */
  counters(query: ThrottleCounterQuery): Promise<readonly ThrottleCounterView[]>;
  /** Delete counters, so the next message starts a new window. @returns how many */
  resetCounters(query: ThrottleCounterQuery): Promise<number>;
  /** `fix_throttle_priority.py`: give every setting its account form's priority. Idempotent. */
  fixPriorities(): Promise<ThrottlePriorityReport>;
}

/** Options of {@link createThrottleAdmin}. */
export interface ThrottleAdminOptions {
  /** Clock for {@link ThrottleCounterView.ended}, milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

function invalid(message: string, value: unknown): PolicydError {
  return new PolicydError('POLICYD_ERR_INVALID_OPTION', message, { value });
}

/** Tracking keys are stored as the plugin computes them: trimmed, lower-cased, IPs canonical. */
function trackingKey(value: unknown): string {
  if (typeof value !== 'string')
    throw invalid(`trackingAccount must be a string, got ${String(value)}`, value);
  const text = value.trim().toLowerCase();
  return normalizeIp(text) ?? text;
}

/**
 * Admin operations over a throttle store. Every input is validated before the store is touched: a bad account
 * throws `POLICYD_ERR_INVALID_ACCOUNT`, a bad kind, number or tracking key `POLICYD_ERR_INVALID_OPTION`, each
 * naming the value; counters of a setting that does not exist throw `POLICYD_ERR_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * const admin = createThrottleAdmin(stores.throttle);
 * await admin.set({ account: '@example.com', kind: 'outbound', periodSeconds: 3600, maxMessages: 500 });
 * await admin.counters({ trackingAccount: 'user@example.com' });
 * ```
 */
export function createThrottleAdmin(store: ThrottleStore, options: ThrottleAdminOptions = {}): ThrottleAdmin {
  const now = options.now ?? Date.now;

  async function find(account: string, kind: ThrottleKind): Promise<ThrottleSetting | undefined> {
    const canonical = parseAccount(String(account)).account;
    const parsedKind = parseThrottleKind(kind);
    const found = await store.listSettings({ account: canonical, kind: parsedKind });
    return found[0];
  }

  async function select(query: ThrottleCounterQuery) {
    if (typeof query !== 'object' || query === null)
      throw invalid('a counter query must be an object', query);
    if (!('account' in query) && !('kind' in query)) {
      return { filter: { trackingAccount: trackingKey(query.trackingAccount) }, settings: undefined };
    }
    const q = query as { account: string; kind: ThrottleKind; trackingAccount?: string };
    const setting = await find(q.account, q.kind);
    if (setting === undefined) {
      throw invalid(
        `no throttle setting for account ${JSON.stringify(q.account)} and kind ${q.kind}`,
        q.account,
      );
    }
    const filter =
      q.trackingAccount === undefined
        ? { settingId: setting.id }
        : { settingId: setting.id, trackingAccount: trackingKey(q.trackingAccount) };
    return { filter, settings: [setting] };
  }

  function view(
    counter: ThrottleCounter,
    setting: ThrottleSetting | undefined,
    at: number,
  ): ThrottleCounterView {
    const sliding = counter.previousMessages !== undefined;
    const windowEndsAt = counter.windowStartAt + (counter.periodSeconds * 1000) / (sliding ? 2 : 1);
    return {
      ...counter,
      setting,
      windowEndsAt,
      // Fixed windows are current up to and including their last second (iRedAPD's strict `>`).
      ended: sliding ? at >= windowEndsAt : at > windowEndsAt,
    };
  }

  return {
    async set(input) {
      const resolved = resolveThrottleSetting(input);
      return store.setSetting(resolved);
    },
    async list(filter = {}) {
      const account = filter.account === undefined ? undefined : parseAccount(String(filter.account)).account;
      const kind = filter.kind === undefined ? undefined : parseThrottleKind(filter.kind);
      return store.listSettings({ ...(account === undefined ? {} : { account }), ...(kind ? { kind } : {}) });
    },
    get: find,
    async delete(account, kind) {
      const canonical = parseAccount(String(account)).account;
      return store.deleteSetting(canonical, parseThrottleKind(kind));
    },
    async counters(query) {
      const { filter, settings } = await select(query);
      const counters = await store.listCounters(filter);
      const known = new Map((settings ?? (await store.listSettings())).map((s) => [s.id, s]));
      const at = now();
      return counters.map((c) => view(c, known.get(c.settingId), at));
    },
    async resetCounters(query) {
      const { filter } = await select(query);
      return store.resetCounters(filter);
    },
    async fixPriorities() {
      const fixed: ThrottlePriorityFix[] = [];
      const skipped: ThrottleSetting[] = [];
      for (const setting of await store.listSettings()) {
        let canonical: string | undefined;
        try {
          canonical = parseAccount(setting.account).account;
        } catch {
          canonical = undefined;
        }
        if (canonical !== setting.account) {
          skipped.push(setting);
          continue;
        }
        const priority = accountPriority(setting.account) ?? 0;
        if (priority === setting.priority) continue;
        const {
          account,
          kind,
          periodSeconds,
          maxMessageSizeBytes,
          maxMessages,
          maxQuotaBytes,
          maxRecipients,
        } = setting;
        await store.setSetting({
          account,
          kind,
          periodSeconds,
          priority,
          maxMessageSizeBytes,
          maxMessages,
          maxQuotaBytes,
          maxRecipients,
        });
        fixed.push({ setting, priority });
      }
      return { fixed, skipped };
    },
  };
}
