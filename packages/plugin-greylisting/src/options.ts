/**
 * Options of the greylisting plugin: their types, their defaults (iRedAPD's settings) and their validation,
 * done once in the factory so that a bad value fails at start-up with a message naming it.
 */

import { Resolver } from 'node:dns/promises';
import {
  type ClientNetworkOptions,
  clientNetwork,
  createTrustedNetworks,
  type DnsResolver,
  type DomainStore,
  type GreylistStore,
  PolicydError,
  type TrustedNetworks,
} from '@policyd/core';

/** iRedAPD's `GREYLISTING_MESSAGE`: the text after `451 4.7.1`. */
export const DEFAULT_GREYLISTING_MESSAGE = 'Intentional policy rejection, please try again later';

/**
 * Options of {@link greylisting}. Every option but `store` has iRedAPD's default; the ones marked "beyond
 * iRedAPD" default to iRedAPD's behaviour.
 */
export interface GreylistingOptions {
  /** Settings, whitelists and tracking (`iredapd.greylisting*`): `knexStorage(…).greylist` or a memory store. */
  readonly store: GreylistStore;
  /**
   * Hosted domains (`vmail`), for alias domains: mail to `user@alias.example` is also matched against the
   * settings and whitelists of `user@target.example`, as iRedAPD does. Without it, no alias expansion.
   */
  readonly domains?: DomainStore;
  /** `GREYLISTING_MESSAGE`: reply text after `451 4.7.1`. Default {@link DEFAULT_GREYLISTING_MESSAGE}. */
  readonly message?: string;
  /** `GREYLISTING_TRAINING_MODE`: track every triplet but never defer. Default `false`. */
  readonly trainingMode?: boolean;
  /** `GREYLISTING_BLOCK_EXPIRE`: minutes a client must wait before a retry is accepted. Default 15. */
  readonly blockExpireMinutes?: number;
  /** `GREYLISTING_AUTH_TRIPLET_EXPIRE`: days a passed triplet is remembered, renewed on use. Default 30. */
  readonly authTripletExpireDays?: number;
  /** `GREYLISTING_UNAUTH_TRIPLET_EXPIRE`: days a triplet that has not passed is remembered. Default 1. */
  readonly unauthTripletExpireDays?: number;
  /**
   * `MYNETWORKS`: trusted clients, never greylisted (IP addresses, wildcard IPv4, networks), or a list already
   * built with `createTrustedNetworks`. `127.0.0.1` and `::1` are always trusted. An invalid entry throws
   * `POLICYD_ERR_INVALID_OPTION`. Default `[]`.
   */
  readonly mynetworks?: readonly string[] | TrustedNetworks;
  /**
   * `GREYLISTING_BYPASS_SPF`: do not greylist when the sender domain's SPF record authorises the client
   * (an SPF `pass`). Default `true`.
   */
  readonly bypassSpf?: boolean;
  /**
   * DNS for the SPF bypass. Default: `new Resolver({ timeout: dnsTimeoutMs, tries: 1 })` from
   * `node:dns/promises` (the system's name servers).
   */
  readonly dns?: DnsResolver;
  /**
   * `DNS_QUERY_TIMEOUT`: the whole SPF check must finish within this many milliseconds, or the client counts
   * as not authorised. Default 3000.
   */
  readonly dnsTimeoutMs?: number;
  /**
   * How long an SPF answer (per sender domain and client IP) is reused, in milliseconds. The DNS interface
   * does not report TTLs, so this is a fixed time; a timeout or DNS error is reused for at most 30 s.
   * `0` turns the cache off. Default 300 000 (5 minutes).
   */
  readonly spfCacheTtlMs?: number;
  /** Most SPF answers kept; the least recently used go first. Default 10 000. */
  readonly spfCacheSize?: number;
  /**
   * `srs_domain`: no SPF check when the sender domain equals it (the sender is probably this server's own
   * SRS-rewritten address). Default `''`.
   */
  readonly srsDomain?: string;
  /**
   * Beyond iRedAPD: track clients by network instead of by address, in the triplet and in the "client has
   * passed" check. `true` groups by IPv4 /24 and IPv6 /64; an object sets the prefix lengths. Use it when
   * big senders retry from other addresses of the same pool or when IPv6 clients use privacy addresses.
   * Default `false` (iRedAPD: the exact address).
   */
  readonly groupByNetwork?: boolean | ClientNetworkOptions;
  /**
   * Beyond iRedAPD: how many passed triplets make a client (address or network) skip greylisting for every
   * sender and recipient (postgrey's `--auto-whitelist-clients`). iRedAPD skips after one, the default.
   * Higher values are stricter; `0` never skips by client, so every triplet is greylisted on its own.
   * Default 1.
   */
  readonly autoWhitelistClients?: number;
  /**
   * Beyond iRedAPD: remember for this many milliseconds that a client (address, or network with
   * `groupByNetwork`) has passed greylisting, and answer its later requests DUNNO at once, with no store call:
   * once a client has passed, greylisting lets it through whatever the sender, recipient, whitelists and
   * settings (every other answer before that check is DUNNO too). Only the "client passed greylisting before"
   * answer is remembered, never a deferral nor the answer to one triplet's retry. Consequences: the client's
   * passed triplets get their expiry (`record_expired`) renewed at most once per TTL, which does not matter
   * against `authTripletExpireDays`; and a client whose tracking rows an admin deletes is still let through for
   * up to the TTL. `0` turns it off (iRedAPD's behaviour: every request reads the store). Default 0.
   */
  readonly passedClientCacheTtlMs?: number;
  /** Most clients {@link passedClientCacheTtlMs} remembers; the least recently used go first. Default 10 000. */
  readonly passedClientCacheSize?: number;
  /**
   * Beyond iRedAPD: answer a triplet's first attempt before its tracking row is written. The context look-up
   * also reads the triplet's row; when there is none, the plugin defers the request at once and queues the row,
   * and a background writer inserts the queued rows together (`GreylistStore.recordFirstAttempts`, one
   * multi-row `INSERT` per batch). So a first attempt costs one SQL statement on the request's path instead of
   * two, and the inserts of many first attempts share one commit. Same answers: the client's retry comes
   * minutes later, long after the row is written. Consequences: a row whose insert fails (database down at
   * that moment, or a value too long for its column) is lost, logged, and the triplet's next attempt counts as
   * a first attempt again; rows still queued when the process dies are lost the same way (`close()` writes
   * them). When 10 000 rows are waiting, first attempts are recorded before the answer again until the queue
   * drains. Starts with the plugin's `init` (`createPolicy` calls it). Default false.
   */
  readonly writeBehindFirstAttempts?: boolean;
  /** Plugin priority; higher runs first. Default 80 (iRedAPD's). */
  readonly priority?: number;
}

/** Options after validation, with every default applied and times in milliseconds. */
export interface ResolvedGreylistingOptions {
  /** The greylisting store. */
  readonly store: GreylistStore;
  /** The domain store, when alias domains are expanded. */
  readonly domains: DomainStore | undefined;
  /** Reply text. */
  readonly message: string;
  /** Training mode. */
  readonly trainingMode: boolean;
  /** Block time in milliseconds. */
  readonly blockMs: number;
  /** Passed-triplet lifetime in milliseconds. */
  readonly authExpireMs: number;
  /** Pending-triplet lifetime in milliseconds. */
  readonly unauthExpireMs: number;
  /** Trusted clients. */
  readonly trusted: TrustedNetworks;
  /** SPF bypass on. */
  readonly bypassSpf: boolean;
  /** DNS for SPF; `undefined` when the bypass is off. */
  readonly dns: DnsResolver | undefined;
  /** SPF deadline in milliseconds. */
  readonly dnsTimeoutMs: number;
  /** SPF cache lifetime in milliseconds. */
  readonly spfCacheTtlMs: number;
  /** SPF cache capacity. */
  readonly spfCacheSize: number;
  /** `srs_domain`, lower-cased. */
  readonly srsDomain: string;
  /** Prefix lengths when clients are grouped by network, else `undefined`. */
  readonly groupByNetwork: Required<ClientNetworkOptions> | undefined;
  /** Passed triplets that whitelist a client; 0 = never. */
  readonly autoWhitelistClients: number;
  /** How long a passed client is remembered, in milliseconds; 0 = off. */
  readonly passedClientCacheTtlMs: number;
  /** Most passed clients remembered. */
  readonly passedClientCacheSize: number;
  /** First attempts are written behind the answer. */
  readonly writeBehindFirstAttempts: boolean;
  /** Plugin priority. */
  readonly priority: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

function invalid(name: string, value: unknown, expected: string): never {
  throw new PolicydError(
    'POLICYD_ERR_INVALID_OPTION',
    `greylisting option ${name} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`,
    { plugin: 'greylisting', value },
  );
}

function numberOption(name: string, value: unknown, fallback: number, min: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    invalid(name, value, `${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
  return value;
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(name, value, 'true or false');
  return value;
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function')
  );
}

function resolveGrouping(value: unknown): Required<ClientNetworkOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { v4Prefix: 24, v6Prefix: 64 };
  if (typeof value !== 'object' || value === null) {
    invalid('groupByNetwork', value, 'true, false or { v4Prefix, v6Prefix }');
  }
  const { v4Prefix = 24, v6Prefix = 64 } = value as ClientNetworkOptions;
  const prefixes = { v4Prefix, v6Prefix };
  try {
    clientNetwork('192.0.2.1', prefixes);
  } catch (err) {
    invalid('groupByNetwork', value, `prefix lengths in range (${(err as Error).message})`);
  }
  return prefixes;
}

function resolvePriority(value: unknown): number {
  if (value === undefined) return 80;
  if (typeof value !== 'number' || !Number.isFinite(value)) invalid('priority', value, 'a finite number');
  return value;
}

function resolveTrusted(value: GreylistingOptions['mynetworks']): TrustedNetworks {
  if (value === undefined) return createTrustedNetworks([]);
  if (Array.isArray(value)) return createTrustedNetworks(value);
  if (hasMethods(value, ['contains'])) return value as TrustedNetworks;
  return invalid('mynetworks', value, 'a list of addresses and networks, or createTrustedNetworks(…)');
}

/**
 * Validate the options and apply the defaults.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the option and its value
 */
export function resolveGreylistingOptions(options: GreylistingOptions): ResolvedGreylistingOptions {
  if (typeof options !== 'object' || options === null) invalid('options', options, 'an object');
  const store = options.store;
  if (!hasMethods(store, ['loadContext', 'refreshPassed', 'recordAttempt'])) {
    invalid('store', store === undefined ? undefined : typeof store, 'a GreylistStore');
  }
  if (options.domains !== undefined && !hasMethods(options.domains, ['lookupDomains'])) {
    invalid('domains', typeof options.domains, 'a DomainStore');
  }
  const message = options.message ?? DEFAULT_GREYLISTING_MESSAGE;
  if (typeof message !== 'string' || message.trim() === '') invalid('message', message, 'a non-empty string');

  const blockMs = numberOption('blockExpireMinutes', options.blockExpireMinutes, 15, 0) * MINUTE;
  const authExpireMs = numberOption('authTripletExpireDays', options.authTripletExpireDays, 30, 0) * DAY;
  const unauthExpireMs = numberOption('unauthTripletExpireDays', options.unauthTripletExpireDays, 1, 0) * DAY;
  // iRedAPD accepts this silently and then nothing can ever pass: a pending triplet is forgotten before
  // its retry is allowed.
  if (unauthExpireMs < blockMs) {
    invalid(
      'unauthTripletExpireDays',
      options.unauthTripletExpireDays,
      `at least the block time (${blockMs / MINUTE} minutes), or no triplet could ever pass`,
    );
  }

  const bypassSpf = booleanOption('bypassSpf', options.bypassSpf, true);
  const dnsTimeoutMs = numberOption('dnsTimeoutMs', options.dnsTimeoutMs, 3_000, 1);
  if (
    options.dns !== undefined &&
    !hasMethods(options.dns, ['resolveTxt', 'resolve4', 'resolve6', 'resolveMx'])
  ) {
    invalid('dns', typeof options.dns, 'a DnsResolver (resolveTxt, resolve4, resolve6, resolveMx)');
  }
  const dns = !bypassSpf
    ? undefined
    : (options.dns ?? new Resolver({ timeout: Math.ceil(dnsTimeoutMs), tries: 1 }));

  const srsDomain = options.srsDomain ?? '';
  if (typeof srsDomain !== 'string') invalid('srsDomain', srsDomain, 'a string');

  return Object.freeze({
    store,
    domains: options.domains,
    message,
    trainingMode: booleanOption('trainingMode', options.trainingMode, false),
    writeBehindFirstAttempts: booleanOption(
      'writeBehindFirstAttempts',
      options.writeBehindFirstAttempts,
      false,
    ),
    blockMs,
    authExpireMs,
    unauthExpireMs,
    trusted: resolveTrusted(options.mynetworks),
    bypassSpf,
    dns,
    dnsTimeoutMs,
    spfCacheTtlMs: numberOption('spfCacheTtlMs', options.spfCacheTtlMs, 300_000, 0),
    spfCacheSize: numberOption('spfCacheSize', options.spfCacheSize, 10_000, 0, true),
    srsDomain: srsDomain.trim().toLowerCase(),
    groupByNetwork: resolveGrouping(options.groupByNetwork),
    autoWhitelistClients: numberOption('autoWhitelistClients', options.autoWhitelistClients, 1, 0, true),
    passedClientCacheTtlMs: numberOption('passedClientCacheTtlMs', options.passedClientCacheTtlMs, 0, 0),
    passedClientCacheSize: numberOption(
      'passedClientCacheSize',
      options.passedClientCacheSize,
      10_000,
      0,
      true,
    ),
    priority: resolvePriority(options.priority),
  });
}
