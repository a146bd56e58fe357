/**
 * Wblist conformance, decision path: `lookup` in both directions, networks, ordering.
 */

import { describe, expect, it } from 'vitest';
import type { WblistSeed } from '../seed.ts';
import type { WblistMatch, WblistStore } from '../wblist-store.ts';
import type { SeedableStoreHarness } from './harness.ts';

/** One match as a short line (`account(priority) list address(priority) [net]`), for readable assertions. */
export const briefMatch = (m: WblistMatch): string =>
  `${m.account}(${m.accountPriority}) ${m.list} ${m.address}(${m.addressPriority})${m.byNetwork ? ' net' : ''}`;

const brief = briefMatch;

/**
 * Register the look-up tests of the wblist conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeWblistLookup(h: () => SeedableStoreHarness<WblistStore, WblistSeed>): void {
  describe('lookup', () => {
    it('finds inbound entries by account and sender, with the stored priorities', async () => {
      await h().seed({
        accounts: [
          { account: 'user@example.com', priority: 10 },
          { account: '@example.com', priority: 5 },
        ],
        addresses: [
          { address: 'friend@example.net', priority: 10 },
          { address: '@example.net', priority: 5 },
        ],
        entries: [
          { direction: 'inbound', account: 'user@example.com', address: 'friend@example.net', wb: 'W' },
          { direction: 'inbound', account: '@example.com', address: '@example.net', wb: 'B' },
          { direction: 'inbound', account: 'other@example.com', address: '@example.net', wb: 'B' },
        ],
      });
      const result = await h().store.lookup({
        inbound: {
          accounts: ['user@example.com', '@example.com', '@.'],
          senders: ['friend@example.net', '@example.net', '@.'],
        },
      });
      expect(result.inbound).toEqual([
        {
          account: 'user@example.com',
          accountPriority: 10,
          address: 'friend@example.net',
          addressPriority: 10,
          list: 'whitelist',
          byNetwork: false,
        },
        {
          account: '@example.com',
          accountPriority: 5,
          address: '@example.net',
          addressPriority: 5,
          list: 'blacklist',
          byNetwork: false,
        },
      ]);
      expect(result.outbound).toEqual([]);
    });

    it('orders by account priority, account, exact before network, address priority, address', async () => {
      await h().seed({
        accounts: [
          { account: '@.', priority: 0 },
          { account: 'a@example.com', priority: 5 },
          { account: 'b@example.com', priority: 5 },
        ],
        addresses: [
          { address: '192.0.2.0/24', priority: 50 },
          { address: '@.', priority: 0 },
          { address: 'x@example.net', priority: 10 },
          { address: 'y@example.net', priority: 10 },
          { address: '@example.net', priority: 5 },
        ],
        entries: [
          { direction: 'inbound', account: '@.', address: '@.', wb: 'B' },
          { direction: 'inbound', account: '@.', address: '192.0.2.0/24', wb: 'W' },
          { direction: 'inbound', account: '@.', address: 'y@example.net', wb: 'W' },
          { direction: 'inbound', account: '@.', address: 'x@example.net', wb: 'W' },
          { direction: 'inbound', account: 'b@example.com', address: '@example.net', wb: 'B' },
          { direction: 'inbound', account: 'a@example.com', address: '@example.net', wb: 'W' },
        ],
      });
      const result = await h().store.lookup({
        inbound: {
          accounts: ['@.', 'b@example.com', 'a@example.com'],
          senders: ['@.', 'y@example.net', 'x@example.net', '@example.net'],
          clientAddress: '192.0.2.7',
        },
      });
      expect(result.inbound.map(brief)).toEqual([
        'a@example.com(5) whitelist @example.net(5)',
        'b@example.com(5) blacklist @example.net(5)',
        '@.(0) whitelist x@example.net(10)',
        '@.(0) whitelist y@example.net(10)',
        '@.(0) blacklist @.(0)',
        '@.(0) whitelist 192.0.2.0/24(50) net',
      ]);
    });

    it('counts only rows whose wb is exactly W or B', async () => {
      await h().seed({
        entries: [
          { direction: 'inbound', account: '@.', address: 'a@example.net', wb: 'w' },
          { direction: 'inbound', account: '@.', address: 'b@example.net', wb: 'Y' },
          { direction: 'inbound', account: '@.', address: 'c@example.net', wb: '-3.5' },
          { direction: 'inbound', account: '@.', address: 'd@example.net', wb: 'B' },
        ],
      });
      const result = await h().store.lookup({
        inbound: {
          accounts: ['@.'],
          senders: ['a@example.net', 'b@example.net', 'c@example.net', 'd@example.net'],
        },
      });
      expect(result.inbound.map(brief)).toEqual(['@.(7) blacklist d@example.net(7)']);
    });

    it('matches IPv4 and IPv6 networks containing the client, any prefix length', async () => {
      const networks = ['10.0.0.0/8', '64.0.0.0/2', '0.0.0.0/0', '2001:db8::/32', '2000::/4', '::/0'];
      await h().seed({
        entries: networks.map((address) => ({
          direction: 'inbound' as const,
          account: '@.',
          address,
          wb: 'B',
        })),
      });
      const v4 = await h().store.lookup({
        inbound: { accounts: ['@.'], senders: [], clientAddress: '10.1.2.3' },
      });
      expect(v4.inbound.map((m) => m.address).sort()).toEqual(['0.0.0.0/0', '10.0.0.0/8']);
      expect(v4.inbound.every((m) => m.byNetwork)).toBe(true);
      const v4b = await h().store.lookup({
        inbound: { accounts: ['@.'], senders: [], clientAddress: '100.64.0.1' },
      });
      expect(v4b.inbound.map((m) => m.address).sort()).toEqual(['0.0.0.0/0', '64.0.0.0/2']);
      const v6 = await h().store.lookup({
        inbound: { accounts: ['@.'], senders: [], clientAddress: '2001:db8::25' },
      });
      expect(v6.inbound.map((m) => m.address).sort()).toEqual(['2000::/4', '2001:db8::/32', '::/0']);
    });

    it('ignores networks not containing the client, non-strict networks, and networks without a client', async () => {
      await h().seed({
        entries: [
          { direction: 'inbound', account: '@.', address: '198.51.100.0/24', wb: 'B' },
          { direction: 'inbound', account: '@.', address: '192.0.2.1/24', wb: 'B' },
          { direction: 'inbound', account: '@.', address: '2001:db8:1::/48', wb: 'B' },
        ],
      });
      const store = h().store;
      const at = (clientAddress: string) =>
        store.lookup({ inbound: { accounts: ['@.'], senders: [], clientAddress } });
      expect((await at('192.0.2.1')).inbound).toEqual([]);
      expect((await at('2001:db8:2::1')).inbound).toEqual([]);
      expect((await at('')).inbound).toEqual([]);
      expect((await store.lookup({ inbound: { accounts: ['@.'], senders: [] } })).inbound).toEqual([]);
    });

    it('reports a network given as a sender candidate as an exact match', async () => {
      await h().seed({
        entries: [{ direction: 'inbound', account: '@.', address: '192.0.2.0/24', wb: 'W' }],
      });
      const result = await h().store.lookup({
        inbound: { accounts: ['@.'], senders: ['192.0.2.0/24'], clientAddress: '192.0.2.9' },
      });
      expect(result.inbound.map(brief)).toEqual(['@.(7) whitelist 192.0.2.0/24(7)']);
    });

    it('finds outbound entries by sender account and recipient, network accounts last', async () => {
      await h().seed({
        accounts: [
          { account: 'user@example.com', priority: 10 },
          { account: '@.', priority: 0 },
          { account: '192.0.2.0/24', priority: 7 },
        ],
        addresses: [{ address: 'them@example.net', priority: 10 }],
        entries: [
          { direction: 'outbound', account: '192.0.2.0/24', address: 'them@example.net', wb: 'B' },
          { direction: 'outbound', account: '@.', address: 'them@example.net', wb: 'W' },
          { direction: 'outbound', account: 'user@example.com', address: '@example.net', wb: 'B' },
          { direction: 'inbound', account: 'user@example.com', address: 'them@example.net', wb: 'B' },
        ],
      });
      const result = await h().store.lookup({
        outbound: {
          accounts: ['user@example.com', '@example.com', '@.'],
          recipients: ['them@example.net', '@example.net', '@.'],
          clientAddress: '192.0.2.50',
        },
      });
      expect(result.outbound.map(brief)).toEqual([
        'user@example.com(10) blacklist @example.net(7)',
        '@.(0) whitelist them@example.net(10)',
        '192.0.2.0/24(7) blacklist them@example.net(10) net',
      ]);
      expect(result.inbound).toEqual([]);
    });

    it('keeps directions apart and answers both in one call', async () => {
      await h().seed({
        entries: [
          { direction: 'inbound', account: 'user@example.com', address: 'x@example.net', wb: 'W' },
          { direction: 'outbound', account: 'user@example.com', address: 'x@example.net', wb: 'B' },
        ],
      });
      const result = await h().store.lookup({
        inbound: { accounts: ['user@example.com'], senders: ['x@example.net'] },
        outbound: { accounts: ['user@example.com'], recipients: ['x@example.net'] },
      });
      expect(result.inbound.map(brief)).toEqual(['user@example.com(7) whitelist x@example.net(7)']);
      expect(result.outbound.map(brief)).toEqual(['user@example.com(7) blacklist x@example.net(7)']);
    });

    it('answers empty queries and unknown accounts with nothing', async () => {
      await h().seed({ entries: [{ direction: 'inbound', account: '@.', address: '@.', wb: 'B' }] });
      expect(await h().store.lookup({})).toEqual({ inbound: [], outbound: [] });
      const none = await h().store.lookup({
        inbound: { accounts: [], senders: ['@.'] },
        outbound: { accounts: ['@.'], recipients: [] },
      });
      expect(none).toEqual({ inbound: [], outbound: [] });
    });
  });
}
