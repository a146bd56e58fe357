/**
 * In-memory {@link WblistStore}: `users`, `mailaddr`, `wblist` and `outbound_wblist` as maps. Every method
 * does its whole read-check-write synchronously, so concurrent callers never interleave.
 */

import type { IpNetwork } from '../ip.ts';
import type { WblistSeed } from './seed.ts';
import { storedNetwork } from './stored-network.ts';
import {
  parseWblistAccountRef,
  parseWblistChange,
  parseWblistListRef,
  wbLetter,
  wblistOf,
} from './wblist-input.ts';
import { sortWblistMatches } from './wblist-order.ts';
import type { WblistDirection, WblistMatch, WblistStore } from './wblist-store.ts';

/** A {@link WblistStore} held in memory. */
export interface MemoryWblistStore extends WblistStore {
  /** Insert or replace raw `users`, `mailaddr`, `wblist` and `outbound_wblist` rows, verbatim. */
  seed(data: WblistSeed): void;
}

interface AddressRow {
  priority: number;
  readonly network: IpNetwork | undefined;
}

/** Amavisd's column default for `users.priority` and `mailaddr.priority`. */
const DEFAULT_PRIORITY = 7;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Create an empty in-memory wblist store. */
export function createMemoryWblistStore(): MemoryWblistStore {
  const users = new Map<string, AddressRow>();
  const mailaddr = new Map<string, AddressRow>();
  // account (users.email) → address (mailaddr.email) → raw wb value
  const lists: Record<WblistDirection, Map<string, Map<string, string>>> = {
    inbound: new Map(),
    outbound: new Map(),
  };

  function ensure(table: Map<string, AddressRow>, value: string, priority: number): void {
    if (!table.has(value)) table.set(value, { priority, network: storedNetwork(value) });
  }

  function entriesOf(direction: WblistDirection, account: string): Map<string, string> {
    let entries = lists[direction].get(account);
    if (entries === undefined) {
      entries = new Map();
      lists[direction].set(account, entries);
    }
    return entries;
  }

  function match(account: string, address: string, wb: string, byNetwork: boolean): WblistMatch | undefined {
    const list = wblistOf(wb);
    if (list === undefined) return undefined;
    return {
      account,
      accountPriority: users.get(account)?.priority ?? DEFAULT_PRIORITY,
      address,
      addressPriority: mailaddr.get(address)?.priority ?? DEFAULT_PRIORITY,
      list,
      byNetwork,
    };
  }

  const store: MemoryWblistStore = {
    async lookup(query) {
      const inbound: WblistMatch[] = [];
      const outbound: WblistMatch[] = [];
      if (query.inbound !== undefined) {
        const senders = new Set(query.inbound.senders);
        const client = query.inbound.clientAddress ?? '';
        for (const account of new Set(query.inbound.accounts)) {
          for (const [address, wb] of lists.inbound.get(account) ?? []) {
            const exact = senders.has(address);
            const network = mailaddr.get(address)?.network;
            if (!exact && (client === '' || network?.contains(client) !== true)) continue;
            const found = match(account, address, wb, !exact);
            if (found !== undefined) inbound.push(found);
          }
        }
      }
      if (query.outbound !== undefined) {
        const accounts = new Set(query.outbound.accounts);
        const recipients = new Set(query.outbound.recipients);
        const client = query.outbound.clientAddress ?? '';
        for (const [account, entries] of lists.outbound) {
          const exact = accounts.has(account);
          const network = users.get(account)?.network;
          if (!exact && (client === '' || network?.contains(client) !== true)) continue;
          for (const [address, wb] of entries) {
            if (!recipients.has(address)) continue;
            const found = match(account, address, wb, !exact);
            if (found !== undefined) outbound.push(found);
          }
        }
      }
      return sortWblistMatches(inbound, outbound);
    },

    async add(change) {
      const parsed = parseWblistChange(change);
      const letter = wbLetter(parsed.list);
      ensure(users, parsed.account.value, parsed.account.priority);
      const entries = entriesOf(parsed.direction, parsed.account.value);
      const changed: string[] = [];
      for (const { value, priority } of parsed.addresses) {
        ensure(mailaddr, value, priority);
        if (entries.get(value) === letter) continue;
        entries.set(value, letter);
        changed.push(value);
      }
      return changed;
    },

    async remove(change) {
      const parsed = parseWblistChange(change);
      const letter = wbLetter(parsed.list);
      const entries = lists[parsed.direction].get(parsed.account.value);
      const removed: string[] = [];
      for (const { value } of parsed.addresses) {
        if (entries?.get(value) !== letter) continue;
        entries.delete(value);
        removed.push(value);
      }
      return removed;
    },

    async removeAll(ref) {
      const parsed = parseWblistListRef(ref);
      const letter = wbLetter(parsed.list);
      const entries = lists[parsed.direction].get(parsed.account.value);
      let count = 0;
      for (const [address, wb] of entries ?? []) {
        if (wb !== letter) continue;
        entries?.delete(address);
        count++;
      }
      return count;
    },

    async list(ref) {
      const parsed = parseWblistAccountRef(ref);
      const entries = [...(lists[parsed.direction].get(parsed.account.value) ?? [])];
      entries.sort(([a], [b]) => byText(a, b));
      return entries.map(([address, wb]) => ({
        address,
        addressPriority: mailaddr.get(address)?.priority ?? DEFAULT_PRIORITY,
        list: wblistOf(wb) ?? 'ignored',
        wb,
      }));
    },

    async findAccounts(accounts) {
      const found = [...new Set(accounts)]
        .filter((account) => users.has(account))
        .map((account) => ({ account, priority: users.get(account)?.priority ?? DEFAULT_PRIORITY }));
      return found.sort((a, b) => b.priority - a.priority || byText(a.account, b.account));
    },

    seed(data) {
      for (const { account, priority } of data.accounts ?? []) {
        users.set(account, { priority, network: storedNetwork(account) });
      }
      for (const { address, priority } of data.addresses ?? []) {
        mailaddr.set(address, { priority, network: storedNetwork(address) });
      }
      for (const { direction, account, address, wb } of data.entries ?? []) {
        ensure(users, account, DEFAULT_PRIORITY);
        ensure(mailaddr, address, DEFAULT_PRIORITY);
        entriesOf(direction, account).set(address, wb);
      }
    },
  };
  return store;
}
