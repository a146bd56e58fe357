/**
 * Options of the wblist plugin: iRedAPD's settings for `amavisd_wblist`, typed, with the same defaults, checked
 * once when the plugin is created.
 */

import { hostname as osHostname } from 'node:os';
import { type DomainStore, PolicydError, type WblistStore } from '@policyd/core';

/** Limits of the optional decision cache ({@link WblistOptions.cache}). */
export interface WblistCacheOptions {
  /** Most decisions kept; the least recently used goes first. Integer, 1 – 10 000 000. Default 10 000. */
  readonly maxEntries?: number;
  /** How long a decision is reused, in milliseconds. Integer, 1 – 3 600 000. Default 10 000 (10 s). */
  readonly ttlMs?: number;
}

/** Options of {@link wblist}. */
export interface WblistOptions {
  /** The white/blacklists (iRedMail's `amavisd` database). */
  readonly store: WblistStore;
  /** The hosted domains (iRedMail's `vmail` database), for alias domains and "is the recipient local". */
  readonly domains: DomainStore;
  /**
   * iRedAPD's `WBLIST_BYPASS_OUTGOING_EMAIL`: ignore outbound lists, so mail from authenticated senders is
   * judged by the recipients' inbound lists only. Default `false`.
   */
  readonly bypassOutgoing?: boolean;
  /**
   * iRedAPD's `WBLIST_DISCARD_INSTEAD_OF_REJECT`: answer a blacklisted sender with `DISCARD Policy discard`
   * (accept and drop silently) instead of `REJECT Blacklisted`. Default `false`.
   */
  readonly discardInsteadOfReject?: boolean;
  /**
   * iRedAPD's `ENABLE_ALL_WILDCARD_IP`. Off: a client `a.b.c.d` matches the wildcard entries `a.b.c.*` and
   * `a.b.*.d` only. On: it matches every wildcard entry whose non-`*` octets equal its own (`a.b.*.*`,
   * `*.b.*.d`, `*.*.*.*` …). Default `false`.
   */
  readonly enableAllWildcardIp?: boolean;
  /**
   * The server's host name, which counts as a local domain when deciding whether mail from an authenticated
   * sender also goes through the recipient's inbound lists (iRedAPD compares with `socket.gethostname()`).
   * Only a name with a dot and a TLD can match a recipient domain. `''` disables the rule. Default:
   * `os.hostname()`.
   */
  readonly hostname?: string;
  /**
   * Keep decisions in memory for a short time: on a hit the plugin makes no store call. Off by default, which
   * is iRedAPD's behaviour (every list change applies to the next request). `true` uses the default limits.
   * List changes take up to `ttlMs` to apply while it is on.
   */
  readonly cache?: boolean | WblistCacheOptions;
}

/** {@link WblistOptions} with defaults applied. */
export interface ResolvedWblistOptions {
  /** See {@link WblistOptions.store}. */
  readonly store: WblistStore;
  /** See {@link WblistOptions.domains}. */
  readonly domains: DomainStore;
  /** See {@link WblistOptions.bypassOutgoing}. */
  readonly bypassOutgoing: boolean;
  /** See {@link WblistOptions.discardInsteadOfReject}. */
  readonly discardInsteadOfReject: boolean;
  /** See {@link WblistOptions.enableAllWildcardIp}. */
  readonly enableAllWildcardIp: boolean;
  /** See {@link WblistOptions.hostname}; lower-cased, `''` when disabled. */
  readonly hostname: string;
  /** The cache limits, or `undefined` when the cache is off. */
  readonly cache: Required<WblistCacheOptions> | undefined;
}

/** Default limits of the decision cache when it is turned on. */
export const DEFAULT_WBLIST_CACHE: Readonly<Required<WblistCacheOptions>> = Object.freeze({
  maxEntries: 10_000,
  ttlMs: 10_000,
});

const PLUGIN = 'amavisd_wblist';
const KNOWN: ReadonlySet<string> = new Set([
  'store',
  'domains',
  'bypassOutgoing',
  'discardInsteadOfReject',
  'enableAllWildcardIp',
  'hostname',
  'cache',
]);

function invalid(option: string, expected: string, value: unknown): never {
  const shown = typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  throw new PolicydError('POLICYD_ERR_INVALID_OPTION', `${option} must be ${expected}, got ${shown}`, {
    plugin: PLUGIN,
    value,
  });
}

function flag(options: WblistOptions, name: keyof WblistOptions): boolean {
  const value = options[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') invalid(name, 'a boolean', value);
  return value;
}

function hasMethod(value: unknown, method: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[method] === 'function'
  );
}

function integer(option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    invalid(option, `an integer from 1 to ${max}`, value);
  }
  return value;
}

function resolveCache(value: WblistOptions['cache']): Required<WblistCacheOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_WBLIST_CACHE;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid('cache', 'a boolean or { maxEntries?, ttlMs? }', value);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'maxEntries' && key !== 'ttlMs')
      invalid('cache', 'a boolean or { maxEntries?, ttlMs? }', value);
  }
  return Object.freeze({
    maxEntries: integer('cache.maxEntries', value.maxEntries, DEFAULT_WBLIST_CACHE.maxEntries, 10_000_000),
    ttlMs: integer('cache.ttlMs', value.ttlMs, DEFAULT_WBLIST_CACHE.ttlMs, 3_600_000),
  });
}

/**
 * Check {@link WblistOptions} and apply the defaults.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the option, for a missing store, a value of the
 *   wrong type or range, or an unknown option name
 */
export function resolveWblistOptions(options: WblistOptions): ResolvedWblistOptions {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new PolicydError(
        'POLICYD_ERR_INVALID_OPTION',
        `unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`,
        { plugin: PLUGIN, value: key },
      );
    }
  }
  if (!hasMethod(options.store, 'lookup')) invalid('store', 'a WblistStore', options.store);
  if (!hasMethod(options.domains, 'lookupDomains')) invalid('domains', 'a DomainStore', options.domains);
  const hostname = options.hostname ?? osHostname();
  if (typeof hostname !== 'string') invalid('hostname', 'a string', hostname);
  return Object.freeze({
    store: options.store,
    domains: options.domains,
    bypassOutgoing: flag(options, 'bypassOutgoing'),
    discardInsteadOfReject: flag(options, 'discardInsteadOfReject'),
    enableAllWildcardIp: flag(options, 'enableAllWildcardIp'),
    hostname: hostname.trim().toLowerCase(),
    cache: resolveCache(options.cache),
  });
}
