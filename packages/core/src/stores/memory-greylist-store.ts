/**
 * In-memory {@link GreylistStore}: iRedAPD's greylisting tables as maps, times kept in whole seconds like the
 * SQL tables. Every method does its whole read-check-write synchronously, so concurrent callers never
 * interleave.
 */

import type { IpNetwork } from '../ip.ts';
import {
  firstAttemptState,
  fitsTrackingTable,
  GENERATED_WHITELIST_ACCOUNT,
  generatedWhitelistComment,
  parseDomainNetworks,
  parseGreylistAccount,
  parseGreylistAttempt,
  parseGreylistPair,
  parseWhitelistDomain,
} from './greylist-input.ts';
import type {
  GreylistSetting,
  GreylistStore,
  GreylistTriplet,
  GreylistTripletState,
  GreylistWhitelistEntry,
  GreylistWhitelistMatch,
  GreylistWhitelistSource,
} from './greylist-store.ts';
import { cleanupRows } from './memory-cleanup.ts';
import type { GreylistSeed } from './seed.ts';
import { fromUnixSeconds, toUnixSeconds } from './store-time.ts';
import { storedNetwork } from './stored-network.ts';

/** A {@link GreylistStore} held in memory. */
export interface MemoryGreylistStore extends GreylistStore {
  /** Insert or replace raw `greylisting`, `greylisting_whitelists` and `…_domain_spf` rows, verbatim. */
  seed(data: GreylistSeed): void;
}

interface SettingRow {
  readonly account: string;
  readonly priority: number;
  readonly sender: string;
  readonly senderPriority: number;
  readonly active: number;
  readonly comment: string;
}

interface WhitelistRow {
  readonly account: string;
  readonly sender: string;
  readonly comment: string;
  readonly network: IpNetwork | undefined;
}

/** A `greylisting_tracking` row; times in unix seconds. */
interface TrackingRow {
  readonly sender: string;
  readonly senderDomain: string;
  readonly recipient: string;
  readonly recipientDomain: string;
  readonly clientKey: string;
  init: number;
  blockExpires: number;
  recordExpires: number;
  blockedCount: number;
  passed: boolean;
}

const SOURCES: readonly GreylistWhitelistSource[] = Object.freeze(['manual', 'spf']);

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const pairKey = (a: string, b: string): string => JSON.stringify([a, b]);
/** The tracking table's unique key. */
const tripletKey = (t: GreylistTriplet): string => JSON.stringify([t.sender, t.recipient, t.clientKey]);

function trackingRowOf(state: GreylistTripletState): TrackingRow {
  return {
    sender: state.sender,
    senderDomain: state.senderDomain,
    recipient: state.recipient,
    recipientDomain: state.recipientDomain,
    clientKey: state.clientKey,
    init: toUnixSeconds(state.firstSeenAt, 'firstSeenAt'),
    blockExpires: toUnixSeconds(state.blockExpiresAt, 'blockExpiresAt'),
    recordExpires: toUnixSeconds(state.recordExpiresAt, 'recordExpiresAt'),
    blockedCount: state.blockedCount,
    passed: state.passed,
  };
}

function settingOf(row: SettingRow): GreylistSetting {
  return {
    account: row.account,
    priority: row.priority,
    sender: row.sender,
    senderPriority: row.senderPriority,
    active: row.active === 1,
    comment: row.comment,
  };
}

function bySettingOrder(a: GreylistSetting, b: GreylistSetting): number {
  return (
    b.priority - a.priority ||
    b.senderPriority - a.senderPriority ||
    byText(a.account, b.account) ||
    byText(a.sender, b.sender)
  );
}

function tripletOf(row: TrackingRow): GreylistTripletState {
  return {
    sender: row.sender,
    senderDomain: row.senderDomain,
    recipient: row.recipient,
    recipientDomain: row.recipientDomain,
    clientKey: row.clientKey,
    firstSeenAt: fromUnixSeconds(row.init),
    blockExpiresAt: fromUnixSeconds(row.blockExpires),
    recordExpiresAt: fromUnixSeconds(row.recordExpires),
    blockedCount: row.blockedCount,
    passed: row.passed,
  };
}

/** Create an empty in-memory greylisting store. */
export function createMemoryGreylistStore(): MemoryGreylistStore {
  const settings = new Map<string, SettingRow>();
  const whitelists: Record<GreylistWhitelistSource, Map<string, WhitelistRow>> = {
    manual: new Map(),
    spf: new Map(),
  };
  const whitelistDomains = new Set<string>();
  const tracking = new Map<string, TrackingRow>();

  function whitelistRow(account: string, sender: string, comment: string): WhitelistRow {
    return { account, sender, comment, network: storedNetwork(sender) };
  }

  function deleteGenerated(domain: string): number {
    const comment = generatedWhitelistComment(domain);
    let deleted = 0;
    for (const source of SOURCES) {
      for (const [key, row] of whitelists[source]) {
        if (row.comment !== comment) continue;
        whitelists[source].delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  function deleteTracking(predicate: (row: TrackingRow) => boolean): number {
    let deleted = 0;
    for (const [key, row] of tracking) {
      if (!predicate(row)) continue;
      tracking.delete(key);
      deleted++;
    }
    return deleted;
  }

  const store: MemoryGreylistStore = {
    async loadContext(query) {
      const now = toUnixSeconds(query.now, 'now');
      const recipients = new Set(query.recipients);
      const senders = new Set(query.senders.map((s) => s.toLowerCase()));
      const whitelist: GreylistWhitelistMatch[] = [];
      for (const source of SOURCES) {
        const found: GreylistWhitelistMatch[] = [];
        for (const row of whitelists[source].values()) {
          if (!recipients.has(row.account)) continue;
          const exact = senders.has(row.sender.toLowerCase());
          if (!exact && (query.clientAddress === '' || row.network?.contains(query.clientAddress) !== true)) {
            continue;
          }
          found.push({ account: row.account, sender: row.sender, source, byNetwork: !exact });
        }
        found.sort((a, b) => byText(a.account, b.account) || byText(a.sender, b.sender));
        whitelist.push(...found);
      }
      const matching = [...settings.values()].filter((row) => recipients.has(row.account));
      let passedTriplets = 0;
      for (const row of tracking.values()) {
        if (row.clientKey === query.clientKey && row.passed && row.recordExpires >= now) passedTriplets++;
      }
      const context = { whitelist, settings: matching.map(settingOf).sort(bySettingOrder), passedTriplets };
      if (query.triplet === undefined) return context;
      const row = tracking.get(tripletKey(query.triplet));
      return { ...context, triplet: row === undefined ? null : tripletOf(row) };
    },

    async refreshPassed(clientKey, recordExpiresAt) {
      const expires = toUnixSeconds(recordExpiresAt, 'recordExpiresAt');
      let updated = 0;
      for (const row of tracking.values()) {
        if (row.clientKey !== clientKey || !row.passed) continue;
        row.recordExpires = expires;
        updated++;
      }
      return updated;
    },

    async recordAttempt(triplet, times) {
      const t = parseGreylistAttempt(triplet, times);
      const key = tripletKey(triplet);
      const row = tracking.get(key);
      if (row === undefined) {
        const created = trackingRowOf(firstAttemptState(triplet, times));
        tracking.set(key, created);
        return { outcome: 'new', triplet: tripletOf(created) };
      }
      if (t.now > row.recordExpires) {
        row.init = t.now;
        row.blockExpires = t.blockExpires;
        row.recordExpires = t.unauthExpires;
        row.blockedCount = 1;
        row.passed = false;
        return { outcome: 'restarted', triplet: tripletOf(row) };
      }
      if (t.now < row.blockExpires) {
        row.blockedCount++;
        return { outcome: 'too-early', triplet: tripletOf(row) };
      }
      const wasPassed = row.passed;
      row.passed = true;
      row.recordExpires = Math.max(row.recordExpires, t.authExpires);
      deleteTracking((other) => other.clientKey === row.clientKey && !other.passed);
      return { outcome: wasPassed ? 'still-passed' : 'passed', triplet: tripletOf(row) };
    },

    async recordFirstAttempts(attempts) {
      // Every attempt is checked before any row is written, as the SQL stores do.
      const states = attempts.map(({ triplet, times }) => firstAttemptState(triplet, times));
      const unstorable: GreylistTriplet[] = [];
      let inserted = 0;
      for (const [i, state] of states.entries()) {
        if (!fitsTrackingTable(state)) {
          unstorable.push(attempts[i]!.triplet);
          continue;
        }
        const key = tripletKey(state);
        if (tracking.has(key)) continue;
        tracking.set(key, trackingRowOf(state));
        inserted++;
      }
      return { inserted, unstorable };
    },

    async findTriplets(clientKey) {
      return [...tracking.values()]
        .filter((row) => row.clientKey === clientKey)
        .sort((a, b) => byText(a.sender, b.sender) || byText(a.recipient, b.recipient))
        .map(tripletOf);
    },

    async cleanup(options) {
      return cleanupRows(tracking, (row, now) => row.recordExpires < now, options);
    },

    async listSettings(filter = {}) {
      const account = filter.account === undefined ? undefined : parseGreylistAccount(filter.account);
      return [...settings.values()]
        .filter((row) => account === undefined || row.account === account)
        .map(settingOf)
        .sort(bySettingOrder);
    },

    async setSetting(input) {
      const pair = parseGreylistPair(input);
      const row: SettingRow = { ...pair, active: input.active ? 1 : 0, comment: input.comment ?? '' };
      settings.set(pairKey(pair.account, pair.sender), row);
      return settingOf(row);
    },

    async deleteSetting(input) {
      const pair = parseGreylistPair(input);
      return settings.delete(pairKey(pair.account, pair.sender));
    },

    async addWhitelist(input) {
      const pair = parseGreylistPair(input);
      const key = pairKey(pair.account, pair.sender);
      if (whitelists.manual.has(key)) return false;
      whitelists.manual.set(key, whitelistRow(pair.account, pair.sender, input.comment ?? ''));
      return true;
    },

    async removeWhitelist(input) {
      const pair = parseGreylistPair(input);
      return whitelists.manual.delete(pairKey(pair.account, pair.sender));
    },

    async listWhitelists(filter = {}) {
      const account = filter.account === undefined ? undefined : parseGreylistAccount(filter.account);
      const result: GreylistWhitelistEntry[] = [];
      for (const source of SOURCES) {
        if (filter.source !== undefined && filter.source !== source) continue;
        const rows = [...whitelists[source].values()]
          .filter((row) => account === undefined || row.account === account)
          .sort((a, b) => byText(a.account, b.account) || byText(a.sender, b.sender));
        for (const row of rows)
          result.push({ account: row.account, sender: row.sender, comment: row.comment, source });
      }
      return result;
    },

    async addWhitelistDomain(domain) {
      const value = parseWhitelistDomain(domain);
      if (whitelistDomains.has(value)) return false;
      whitelistDomains.add(value);
      return true;
    },

    async removeWhitelistDomain(domain) {
      const value = parseWhitelistDomain(domain);
      const removed = whitelistDomains.delete(value);
      return { removed, networksRemoved: deleteGenerated(value) };
    },

    async listWhitelistDomains() {
      return [...whitelistDomains].sort(byText);
    },

    async replaceDomainNetworks(domain, networks) {
      const value = parseWhitelistDomain(domain);
      const values = parseDomainNetworks(networks);
      const deleted = deleteGenerated(value);
      const comment = generatedWhitelistComment(value);
      let inserted = 0;
      for (const sender of values) {
        const key = pairKey(GENERATED_WHITELIST_ACCOUNT, sender);
        if (whitelists.spf.has(key)) continue;
        whitelists.spf.set(key, whitelistRow(GENERATED_WHITELIST_ACCOUNT, sender, comment));
        inserted++;
      }
      const clients = new Set(values);
      const trackingDeleted = deleteTracking((row) => clients.has(row.clientKey));
      return { deleted, inserted, trackingDeleted };
    },

    seed(data) {
      for (const row of data.settings ?? []) {
        settings.set(pairKey(row.account, row.sender), { ...row, comment: row.comment ?? '' });
      }
      for (const row of data.whitelists ?? []) {
        whitelists[row.source].set(
          pairKey(row.account, row.sender),
          whitelistRow(row.account, row.sender, row.comment ?? ''),
        );
      }
    },
  };
  return store;
}
