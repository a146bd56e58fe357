/**
 * Options of the throttle plugin: iRedAPD's `THROTTLE_*` settings, typed, with iRedAPD's defaults, plus the
 * options beyond iRedAPD (all off by default), checked once when the plugin is created.
 */

import {
  createTrustedNetworks,
  type DomainStore,
  type ErrorPolicy,
  PolicydError,
  parseAccount,
  parseThrottleKind,
  THROTTLE_ALGORITHMS,
  type ThrottleAlgorithm,
  type ThrottleKind,
  type ThrottleStore,
  type TrustedNetworks,
} from '@policyd/core';
import type { ThrottleLimitEvent } from './event.ts';

/**
 * Settings that only log what they would have rejected (and answer as if they had passed). A setting is in dry
 * run when its kind is listed in `kinds` or its account in `accounts`.
 */
export interface ThrottleDryRunOptions {
  /** Every setting of these kinds. */
  readonly kinds?: readonly ThrottleKind[];
  /** Settings of these accounts (any account form, e.g. `@example.com`, `192.0.2.0/24`), whatever their kind. */
  readonly accounts?: readonly string[];
}

/** Options of {@link throttle}. */
export interface ThrottleOptions {
  /** Settings and counters (iRedAPD's `throttle` and `throttle_tracking` tables). */
  readonly store: ThrottleStore;
  /**
   * Hosted domains (iRedMail's `vmail` database). When given, a user whose domain is an alias domain also
   * matches the settings of the same local part at the target domain, as in iRedAPD. Without it, alias domains
   * are not expanded.
   */
  readonly domains?: DomainStore;
  /**
   * iRedAPD's `THROTTLE_BYPASS_MYNETWORKS`: trusted clients ({@link ThrottleOptions.mynetworks}, plus
   * `127.0.0.1` and `::1`) are never throttled. Default `false`.
   */
  readonly bypassMynetworks?: boolean;
  /**
   * iRedAPD's `MYNETWORKS`, for `bypassMynetworks`: addresses, wildcard IPv4 and networks, or a list made with
   * `createTrustedNetworks`. A list of strings is parsed once and an invalid entry throws. Default `[]`.
   */
  readonly mynetworks?: TrustedNetworks | readonly string[];
  /**
   * iRedAPD's `THROTTLE_BYPASS_LOCAL_RECIPIENT`: no recipient (`inbound`) throttling for mail from an
   * authenticated sender. Default `true`.
   */
  readonly bypassLocalRecipient?: boolean;
  /**
   * iRedAPD's `THROTTLE_BYPASS_SAME_DOMAIN`: no throttling at all when the sender's domain (of the SASL login if
   * any) equals the recipient's domain. Default `true`.
   */
  readonly bypassSameDomain?: boolean;
  /**
   * iRedAPD's `ENABLE_ALL_WILDCARD_IP`. Off: client `a.b.c.d` matches the wildcard settings `a.b.c.*` and
   * `a.b.*.d` only. On: every wildcard setting whose non-`*` octets equal the client's (`a.b.*.*`, `*.*.*.*`,
   * `a.*.c.*` …). Default `false`.
   */
  readonly enableAllWildcardIp?: boolean;
  /**
   * Called (not awaited) when a `max_msgs` or `max_quota` limit rejects a message for the first time in a
   * counter's window, once across all daemons sharing the store: wire it to a notification e-mail, a metric, a
   * webhook. Its errors (thrown or rejected) are logged and never change the decision.
   */
  readonly onLimitExceeded?: (event: ThrottleLimitEvent) => void | Promise<void>;
  /**
   * Beyond iRedAPD: `sliding` estimates the last period's count (a sliding window counter) instead of counting
   * in fixed windows, so a burst straddling a window boundary is limited too. Needs a store that keeps the
   * previous window (the memory store does). Default `fixed`.
   */
  readonly algorithm?: ThrottleAlgorithm;
  /**
   * Beyond iRedAPD: `max_quota` rejects the message that would cross the quota, instead of letting it through
   * and rejecting the next one. Default `false`.
   */
  readonly strictQuota?: boolean;
  /** Beyond iRedAPD: settings that only log what they would reject. Default: none. */
  readonly dryRun?: ThrottleDryRunOptions;
  /** Plugin priority; default 60 (iRedAPD's). */
  readonly priority?: number;
  /** Error policy of the plugin; default: the policy's (`skip`, as iRedAPD). */
  readonly onError?: ErrorPolicy;
  /** Deadline of one check in milliseconds; default: the policy's. */
  readonly timeoutMs?: number;
}

/** {@link ThrottleOptions} with defaults applied. */
export interface ResolvedThrottleOptions {
  /** See {@link ThrottleOptions.store}. */
  readonly store: ThrottleStore;
  /** See {@link ThrottleOptions.domains}. */
  readonly domains: DomainStore | undefined;
  /** See {@link ThrottleOptions.bypassMynetworks}. */
  readonly bypassMynetworks: boolean;
  /** See {@link ThrottleOptions.mynetworks}. */
  readonly mynetworks: TrustedNetworks;
  /** See {@link ThrottleOptions.bypassLocalRecipient}. */
  readonly bypassLocalRecipient: boolean;
  /** See {@link ThrottleOptions.bypassSameDomain}. */
  readonly bypassSameDomain: boolean;
  /** See {@link ThrottleOptions.enableAllWildcardIp}. */
  readonly enableAllWildcardIp: boolean;
  /** See {@link ThrottleOptions.onLimitExceeded}. */
  readonly onLimitExceeded: ((event: ThrottleLimitEvent) => void | Promise<void>) | undefined;
  /** See {@link ThrottleOptions.algorithm}. */
  readonly algorithm: ThrottleAlgorithm;
  /** See {@link ThrottleOptions.strictQuota}. */
  readonly strictQuota: boolean;
  /** Kinds in dry run. */
  readonly dryRunKinds: ReadonlySet<ThrottleKind>;
  /** Accounts in dry run, canonical. */
  readonly dryRunAccounts: ReadonlySet<string>;
  /** See {@link ThrottleOptions.priority}. */
  readonly priority: number;
  /** See {@link ThrottleOptions.onError}. */
  readonly onError: ErrorPolicy | undefined;
  /** See {@link ThrottleOptions.timeoutMs}. */
  readonly timeoutMs: number | undefined;
}

/** The plugin's name. */
export const THROTTLE_PLUGIN_NAME = 'throttle';

/** The plugin's default priority (iRedAPD's). */
export const THROTTLE_PLUGIN_PRIORITY = 60;

const KNOWN: ReadonlySet<string> = new Set([
  'store',
  'domains',
  'bypassMynetworks',
  'mynetworks',
  'bypassLocalRecipient',
  'bypassSameDomain',
  'enableAllWildcardIp',
  'onLimitExceeded',
  'algorithm',
  'strictQuota',
  'dryRun',
  'priority',
  'onError',
  'timeoutMs',
]);

const ERROR_POLICIES: readonly ErrorPolicy[] = ['skip', 'defer', 'disconnect'];

function invalid(option: string, expected: string, value: unknown, cause?: unknown): never {
  const shown = typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `${option} must be ${expected}, got ${shown}`, {
    plugin: THROTTLE_PLUGIN_NAME,
    value,
    ...(cause === undefined ? {} : { cause }),
  });
}

function flag(options: ThrottleOptions, name: keyof ThrottleOptions, fallback: boolean): boolean {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(name, 'a boolean', value);
  return value;
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return methods.every((m) => typeof record[m] === 'function');
}

function resolveMynetworks(value: ThrottleOptions['mynetworks']): TrustedNetworks {
  if (value === undefined) return createTrustedNetworks([]);
  if (Array.isArray(value)) {
    try {
      return createTrustedNetworks(value as readonly string[]);
    } catch (err) {
      invalid('mynetworks', 'a list of addresses, wildcard IPv4 and networks', value, err);
    }
  }
  if (hasMethods(value, ['contains'])) return value as TrustedNetworks;
  invalid('mynetworks', 'a list of strings or a TrustedNetworks', value);
}

function resolveDryRun(value: ThrottleDryRunOptions | undefined): {
  kinds: ReadonlySet<ThrottleKind>;
  accounts: ReadonlySet<string>;
} {
  if (value === undefined) return { kinds: new Set(), accounts: new Set() };
  const shape = '{ kinds?: ThrottleKind[], accounts?: string[] }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('dryRun', shape, value);
  for (const key of Object.keys(value))
    if (key !== 'kinds' && key !== 'accounts') invalid('dryRun', shape, value);
  const list = (name: 'kinds' | 'accounts'): readonly string[] => {
    const items = value[name] ?? [];
    if (!Array.isArray(items)) invalid(`dryRun.${name}`, 'an array', items);
    return items as readonly string[];
  };
  const kinds = new Set<ThrottleKind>();
  for (const kind of list('kinds')) {
    try {
      kinds.add(parseThrottleKind(kind));
    } catch (err) {
      invalid('dryRun.kinds[]', 'outbound, external or inbound', kind, err);
    }
  }
  // parseAccount throws POLICYD_ERR_INVALID_ACCOUNT naming the value.
  const accounts = new Set(list('accounts').map((account) => parseAccount(account).account));
  return { kinds, accounts };
}

/**
 * Check {@link ThrottleOptions} and apply the defaults.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the option, for a missing store, a value of the wrong
 *   type or range, or an unknown option name; `POLICYD_ERR_INVALID_ACCOUNT` for a dry-run account that is not
 *   an account
 */
export function resolveThrottleOptions(options: ThrottleOptions): ResolvedThrottleOptions {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new PolicydError(
        'POLICYD_ERR_INVALID_OPTION',
        `unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`,
        { plugin: THROTTLE_PLUGIN_NAME, value: key },
      );
    }
  }
  if (!hasMethods(options.store, ['findSettings', 'consume'])) {
    invalid('store', 'a ThrottleStore', options.store);
  }
  if (options.domains !== undefined && !hasMethods(options.domains, ['lookupDomains'])) {
    invalid('domains', 'a DomainStore', options.domains);
  }
  const { onLimitExceeded, algorithm = 'fixed', priority, onError, timeoutMs } = options;
  if (onLimitExceeded !== undefined && typeof onLimitExceeded !== 'function') {
    invalid('onLimitExceeded', 'a function', onLimitExceeded);
  }
  if (!THROTTLE_ALGORITHMS.includes(algorithm)) invalid('algorithm', 'fixed or sliding', algorithm);
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    invalid('priority', 'a finite number', priority);
  }
  if (onError !== undefined && !ERROR_POLICIES.includes(onError)) {
    invalid('onError', 'skip, defer or disconnect', onError);
  }
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0))) {
    invalid('timeoutMs', 'a positive number of milliseconds', timeoutMs);
  }
  const dryRun = resolveDryRun(options.dryRun);
  return Object.freeze({
    store: options.store,
    domains: options.domains,
    bypassMynetworks: flag(options, 'bypassMynetworks', false),
    mynetworks: resolveMynetworks(options.mynetworks),
    bypassLocalRecipient: flag(options, 'bypassLocalRecipient', true),
    bypassSameDomain: flag(options, 'bypassSameDomain', true),
    enableAllWildcardIp: flag(options, 'enableAllWildcardIp', false),
    onLimitExceeded,
    algorithm,
    strictQuota: flag(options, 'strictQuota', false),
    dryRunKinds: dryRun.kinds,
    dryRunAccounts: dryRun.accounts,
    priority: priority ?? THROTTLE_PLUGIN_PRIORITY,
    onError,
    timeoutMs,
  });
}
