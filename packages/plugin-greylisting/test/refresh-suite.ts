/**
 * The whitelist-domain refresh and the admin API against a real store, written once and run on every backend.
 */

import { isPolicydError } from '@policyd/core';
import { createFakeResolver, type FakeZoneEntry, fixedClock } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import {
  createGreylistingAdmin,
  DEFAULT_WHITELIST_DOMAINS,
  formatRefreshSummary,
  greylisting,
  refreshWhitelistDomains,
} from '../src/index.ts';
import { context, GLOBAL_ON, request, type StoresFactory, useStores } from './harness.ts';

const spf = (record: string): FakeZoneEntry => ({ TXT: [[record]] });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Register the refresh and admin suites for one backend. */
export function describeGreylistingAdmin(backend: string, factory: StoresFactory): void {
  describe(`whitelist-domain refresh [${backend}]`, () => {
    const stores = useStores(factory);

    const generated = async (comment?: string) =>
      (await stores().greylist.listWhitelists({ source: 'spf' }))
        .filter((row) => comment === undefined || row.comment === comment)
        .map((row) => row.sender)
        .sort();

    it('stores the networks of each domain as generated rows and reports them', async () => {
      const { greylist } = stores();
      const dns = createFakeResolver({
        'example.com': spf('v=spf1 include:_spf.example.com ip4:192.0.2.0/24 -all'),
        '_spf.example.com': spf('v=spf1 ip6:2001:db8::/32 ~all'),
      });
      const summary = await refreshWhitelistDomains({ store: greylist, dns, domains: ['Example.COM'] });
      expect(summary).toMatchObject({ added: 2, removed: 0, unchanged: 0, failed: 0, submitted: [] });
      expect(summary.domains[0]).toMatchObject({
        domain: 'example.com',
        status: 'updated',
        source: 'spf',
        added: ['2001:db8::/32', '192.0.2.0/24'],
        lookups: 1,
      });
      expect(await greylist.listWhitelists()).toEqual([
        { account: '@.', sender: '192.0.2.0/24', comment: 'AUTO-UPDATE: example.com', source: 'spf' },
        { account: '@.', sender: '2001:db8::/32', comment: 'AUTO-UPDATE: example.com', source: 'spf' },
      ]);
      expect(formatRefreshSummary(summary)).toBe(
        '* example.com: updated (spf, 1 lookups): +2 -0 =0\n' +
          'Total: +2 -0 =0, 0 failed, 0 tracking rows deleted',
      );
    });

    it('replaces a domain’s rows instead of appending, and keeps manual rows', async () => {
      const { greylist } = stores();
      await greylist.addWhitelist({ account: '@.', sender: '192.0.2.1', comment: 'by hand' });
      await greylist.addWhitelist({ account: '@.', sender: '203.0.113.0/24' });
      const dns = createFakeResolver({
        'example.com': spf('v=spf1 ip4:192.0.2.1 ip4:198.51.100.0/24 ip4:198.51.100.1'),
      });
      await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      dns.set('example.com', spf('v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.9 -all'));
      const summary = await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      expect(summary.domains[0]).toMatchObject({
        status: 'updated',
        added: ['203.0.113.9'],
        removed: ['192.0.2.1', '198.51.100.1'],
        unchanged: ['198.51.100.0/24'],
      });
      expect(await generated()).toEqual(['198.51.100.0/24', '203.0.113.9']);
      expect(await greylist.listWhitelists({ source: 'manual' })).toEqual([
        { account: '@.', sender: '192.0.2.1', comment: 'by hand', source: 'manual' },
        { account: '@.', sender: '203.0.113.0/24', comment: '', source: 'manual' },
      ]);
      const again = await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      expect(again.domains[0]).toMatchObject({ status: 'unchanged', added: [], removed: [] });
    });

    it('keeps the rows of a domain whose DNS fails', async () => {
      const { greylist } = stores();
      const dns = createFakeResolver({ 'example.com': spf('v=spf1 ip4:192.0.2.0/24') });
      await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      dns.set('example.com', { error: 'ESERVFAIL' });
      const summary = await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      expect(summary).toMatchObject({ failed: 1, added: 0, removed: 0 });
      expect(summary.domains[0]).toMatchObject({ status: 'failed', failure: 'TXT example.com: ESERVFAIL' });
      expect(await generated()).toEqual(['192.0.2.0/24']);
      expect(formatRefreshSummary(summary)).toContain(
        '* example.com: FAILED, kept 1 entries: TXT example.com: ESERVFAIL',
      );
    });

    it('refreshes the listed domains by default; submit stores given domains even when nothing is found (B23)', async () => {
      const { greylist } = stores();
      await greylist.addWhitelistDomain('listed.example');
      const dns = createFakeResolver({ 'listed.example': spf('v=spf1 ip4:192.0.2.1') });
      const summary = await refreshWhitelistDomains({ store: greylist, dns });
      expect(summary.domains.map((d) => d.domain)).toEqual(['listed.example']);

      const submitted = await refreshWhitelistDomains({
        store: greylist,
        dns,
        domains: ['empty.example'],
        submit: true,
      });
      expect(submitted).toMatchObject({ submitted: ['empty.example'], added: 0 });
      expect(submitted.domains[0]).toMatchObject({ source: 'none', status: 'unchanged' });
      expect(await greylist.listWhitelistDomains()).toEqual(['empty.example', 'listed.example']);
      expect(formatRefreshSummary(submitted)).toMatch(/^\* Added whitelist domain: empty\.example\n/);
      expect((await refreshWhitelistDomains({ store: greylist, dns, domains: [] })).domains).toEqual([]);
    });

    it('stores a value found for two domains once, under the first, and refreshes included domains too (B23)', async () => {
      const { greylist, seedGreylist } = stores();
      await seedGreylist({
        whitelists: [
          { account: '@.', sender: '203.0.113.99', comment: 'AUTO-UPDATE: _spf.example.com', source: 'spf' },
        ],
      });
      const dns = createFakeResolver({
        'example.com': spf('v=spf1 include:_spf.example.com ip4:192.0.2.1'),
        '_spf.example.com': spf('v=spf1 ip4:198.51.100.0/24'),
      });
      const summary = await refreshWhitelistDomains({
        store: greylist,
        dns,
        domains: ['example.com', '_spf.example.com'],
      });
      expect(summary.domains[0]).toMatchObject({ added: ['198.51.100.0/24', '192.0.2.1'], shared: [] });
      expect(summary.domains[1]).toMatchObject({
        domain: '_spf.example.com',
        added: [],
        removed: ['203.0.113.99'],
        shared: [{ value: '198.51.100.0/24', owner: 'example.com' }],
      });
      expect(await generated()).toEqual(['192.0.2.1', '198.51.100.0/24']);
      expect(formatRefreshSummary(summary)).toContain('+0 -1 =0, 1 already listed for other domains');
    });

    it('clears the tracking rows of whitelisted single addresses', async () => {
      const { greylist } = stores();
      await stores().seedGreylist(GLOBAL_ON);
      const clock = fixedClock();
      const plugin = greylisting({ store: greylist, bypassSpf: false });
      await plugin.check(request({ client_address: '192.0.2.1' }), context(clock.now));
      expect(await greylist.findTriplets('192.0.2.1')).toHaveLength(1);
      const dns = createFakeResolver({ 'example.com': spf('v=spf1 ip4:192.0.2.1 ptr:example.com') });
      const summary = await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      expect(summary.trackingDeleted).toBe(1);
      expect(await greylist.findTriplets('192.0.2.1')).toEqual([]);
      // ptr never becomes a sender-domain whitelist (iRedAPD stored "@example.com", B22).
      expect(await generated()).toEqual(['192.0.2.1']);
      expect(
        (await plugin.check(request({ client_address: '192.0.2.1' }), context(clock.now))).reason,
      ).toMatch(/whitelisted, sender 192\.0\.2\.1 for @\. \(SPF\/MX networks of whitelist domains\)/);
    });

    it('replaces iRedAPD’s legacy generated rows in greylisting_whitelists', async () => {
      const { greylist, seedGreylist } = stores();
      await seedGreylist({
        whitelists: [
          { account: '@.', sender: '192.0.2.1', comment: 'AUTO-UPDATE: example.com', source: 'manual' },
        ],
      });
      const dns = createFakeResolver({ 'example.com': spf('v=spf1 ip4:192.0.2.1') });
      const summary = await refreshWhitelistDomains({ store: greylist, dns, domains: ['example.com'] });
      expect(summary.domains[0]).toMatchObject({ unchanged: ['192.0.2.1'], added: [], removed: [] });
      expect(await greylist.listWhitelists()).toEqual([
        { account: '@.', sender: '192.0.2.1', comment: 'AUTO-UPDATE: example.com', source: 'spf' },
      ]);
    });

    it('rejects bad input before doing anything', async () => {
      const { greylist } = stores();
      const dns = createFakeResolver();
      const bad = await rejection(
        refreshWhitelistDomains({ store: greylist, dns, domains: ['ok.example', 'not a domain'] }),
      );
      expect(isPolicydError(bad, 'POLICYD_ERR_INVALID_ACCOUNT')).toBe(true);
      expect((bad as Error).message).toContain('"not a domain"');
      const submit = await rejection(refreshWhitelistDomains({ store: greylist, dns, submit: true }));
      expect(isPolicydError(submit, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
      for (const options of [
        { timeoutMs: 0 },
        { maxLookups: 0 },
        { maxVoidLookups: -1 },
        { concurrency: 1.5 },
      ]) {
        const err = await rejection(
          refreshWhitelistDomains({ store: greylist, dns, domains: [], ...options }),
        );
        expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
      }
      expect(dns.queries).toEqual([]);
    });
  });

  describe(`greylisting admin [${backend}]`, () => {
    const stores = useStores(factory);

    it('enables, disables and deletes settings, defaulting to @. → @.', async () => {
      const admin = createGreylistingAdmin({ store: stores().greylist });
      expect(await admin.enable()).toMatchObject({
        account: '@.',
        sender: '@.',
        active: true,
        priority: 0,
        senderPriority: 0,
      });
      expect(await admin.disable({ to: '@Example.COM', from: '192.0.2.0/24', comment: 'partner' })).toEqual({
        account: '@example.com',
        priority: 60,
        sender: '192.0.2.0/24',
        senderPriority: 70,
        active: false,
        comment: 'partner',
      });
      await admin.enable({ to: '@example.com', from: '192.0.2.0/24' });
      await admin.enable({ to: 'vip@example.com', from: '2001:DB8::/32' });
      expect((await admin.listSettings()).map((s) => [s.account, s.sender, s.active])).toEqual([
        ['vip@example.com', '2001:db8::/32', true],
        ['@example.com', '192.0.2.0/24', true],
        ['@.', '@.', true],
      ]);
      expect((await admin.listSettings({ account: '@EXAMPLE.com' })).map((s) => s.sender)).toEqual([
        '192.0.2.0/24',
      ]);
      expect(await admin.delete({ to: '@example.com', from: '192.0.2.0/24' })).toBe(true);
      expect(await admin.delete({ to: '@example.com', from: '192.0.2.0/24' })).toBe(false);
      expect(await admin.delete()).toBe(true);
      expect(await admin.listSettings()).toHaveLength(1);
    });

    it('accepts every iRedAPD account form and rejects others, naming the field and value', async () => {
      const admin = createGreylistingAdmin({ store: stores().greylist });
      for (const to of ['user@example.com', '@example.com', '@.example.com', '@.com', '@.']) {
        for (const from of [
          'a@example.net',
          '@example.net',
          '@.example.net',
          '@.net',
          '@.',
          '192.0.2.1',
          '2001:db8::1',
          '192.0.2.0/24',
          '192.0.2.*',
        ]) {
          await admin.enable({ from, to });
        }
      }
      expect(await admin.listSettings()).toHaveLength(45);
      for (const [target, field, value] of [
        [{ from: 'not an address' }, 'from', 'not an address'],
        [{ from: '192.0.2.1/24' }, 'from', '192.0.2.1/24'],
        [{ to: '192.0.2.1' }, 'to', '192.0.2.1'],
        [{ to: 'example.com' }, 'to', 'example.com'],
        [{ to: 'user@*' }, 'to', 'user@*'],
      ] as const) {
        const err = await rejection(admin.enable(target));
        expect(isPolicydError(err, 'POLICYD_ERR_INVALID_ACCOUNT')).toBe(true);
        expect((err as Error).message).toContain(`Invalid ${field} ${JSON.stringify(value)}`);
        expect((err as { value: unknown }).value).toBe(value);
      }
      expect(await admin.listSettings()).toHaveLength(45);
    });

    it('manages whitelists', async () => {
      const admin = createGreylistingAdmin({ store: stores().greylist });
      expect(await admin.addWhitelist({ from: '192.0.2.0/24' })).toBe(true);
      expect(await admin.addWhitelist({ from: '192.0.2.0/24' })).toBe(false);
      expect(
        await admin.addWhitelist({ from: '@Partner.example', to: 'user@example.com', comment: 'partner' }),
      ).toBe(true);
      expect(await admin.listWhitelists()).toEqual([
        { account: '@.', sender: '192.0.2.0/24', comment: '', source: 'manual' },
        { account: 'user@example.com', sender: '@partner.example', comment: 'partner', source: 'manual' },
      ]);
      expect(await admin.listWhitelists({ account: 'USER@example.com' })).toHaveLength(1);
      expect(await admin.listWhitelists({ source: 'spf' })).toEqual([]);
      expect(await admin.removeWhitelist({ from: '192.0.2.0/24', to: '@.' })).toBe(true);
      expect(await admin.removeWhitelist({ from: '192.0.2.0/24' })).toBe(false);
      const err = await rejection(admin.addWhitelist({ from: 'nonsense' }));
      expect(isPolicydError(err, 'POLICYD_ERR_INVALID_ACCOUNT')).toBe(true);
    });

    it('manages whitelist domains, seeds the defaults and runs the refresh', async () => {
      const { greylist } = stores();
      const dns = createFakeResolver({ 'example.net': spf('v=spf1 ip4:198.51.100.0/24') });
      const admin = createGreylistingAdmin({ store: greylist, dns });
      expect(await admin.addWhitelistDomain('example.com')).toBe(true);
      expect(await admin.addWhitelistDomain('@Example.ORG')).toBe(true);
      expect(await admin.addWhitelistDomain('@.example.net')).toBe(true);
      expect(await admin.addWhitelistDomain('example.net')).toBe(false);
      expect(await admin.listWhitelistDomains()).toEqual(['example.com', 'example.net', 'example.org']);
      for (const value of ['@.', 'localhost', '192.0.2.1', 'user@example.com']) {
        const err = await rejection(admin.addWhitelistDomain(value));
        expect(isPolicydError(err, 'POLICYD_ERR_INVALID_ACCOUNT')).toBe(true);
        expect((err as Error).message).toContain(JSON.stringify(value));
      }
      const summary = await admin.refresh({ domains: ['example.net'] });
      expect(summary.added).toBe(1);
      expect(await admin.removeWhitelistDomain('@.example.net')).toEqual({
        removed: true,
        networksRemoved: 1,
      });
      expect(await admin.listWhitelists()).toEqual([]);

      const seeded = await admin.seedDefaultWhitelistDomains();
      expect(seeded).toEqual([...DEFAULT_WHITELIST_DOMAINS]);
      expect(await admin.seedDefaultWhitelistDomains()).toEqual([]);
      expect(await admin.listWhitelistDomains()).toEqual(
        [...DEFAULT_WHITELIST_DOMAINS, 'example.com', 'example.org'].sort(),
      );
    });
  });
}
