/**
 * The greylisting plugin's decisions, written once against a stores factory and run on every backend
 * (memory.test.ts, backends.test.ts). DNS is always a fake resolver; time is a fixed clock.
 */

import { createPolicy, type Decision, formatResponse, type GreylistSeed } from '@policyd/core';
import {
  createFakeResolver,
  evaluateRequest,
  type FakeResolver,
  type FixedClock,
  fixedClock,
  type RequestAttributes,
} from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GREYLISTING_MESSAGE, type GreylistingOptions, greylisting } from '../src/index.ts';
import {
  callLog,
  context,
  counted,
  DAY,
  GLOBAL_ON,
  type GreylistingStores,
  MINUTE,
  request,
  resetLog,
  type StoresFactory,
  useStores,
} from './harness.ts';

const SECOND = 1000;

function expectDeferred(decision: Decision, reason?: RegExp): void {
  expect(decision).toMatchObject({
    action: 'REPLY',
    code: 451,
    status: '4.7.1',
    text: DEFAULT_GREYLISTING_MESSAGE,
  });
  if (reason !== undefined) expect(decision.reason).toMatch(reason);
}

function expectDunno(decision: Decision, reason?: RegExp): void {
  expect(decision.action).toBe('DUNNO');
  if (reason !== undefined) expect(decision.reason).toMatch(reason);
}

/** Register the plugin suite for one backend. */
export function describeGreylistingPlugin(backend: string, factory: StoresFactory): void {
  describe(`greylisting plugin [${backend}]`, () => {
    const stores = useStores(factory);

    async function setup(
      options: Partial<GreylistingOptions> = {},
      seed: GreylistSeed = GLOBAL_ON,
      dns: FakeResolver = createFakeResolver(),
    ) {
      const s: GreylistingStores = stores();
      await s.seedGreylist(seed);
      const clock = fixedClock();
      const log = callLog();
      const plugin = greylisting({
        store: counted(s.greylist, log),
        domains: counted(s.domains, log),
        dns,
        ...options,
      });
      const run = async (attrs: RequestAttributes = {}) => plugin.check(request(attrs), context(clock.now));
      return { s, clock, log, plugin, run, dns };
    }

    describe('state machine', () => {
      it('defers an unseen triplet with 451 4.7.1 and the default message', async () => {
        const { run, s } = await setup();
        expectDeferred(await run(), /new triplet, retry accepted after 15m; enabled by setting @\. -> @\./);
        const [row] = await s.greylist.findTriplets('192.0.2.10');
        expect(row).toMatchObject({
          sender: 'sender@example.net',
          recipient: 'user@example.com',
          passed: false,
        });
      });

      it('uses the configured message', async () => {
        const { run } = await setup({ message: 'Try later' });
        expect(await run()).toMatchObject({ action: 'REPLY', code: 451, status: '4.7.1', text: 'Try later' });
      });

      it('defers an early retry, says how long is left and counts the attempts', async () => {
        const { run, clock, s } = await setup();
        await run();
        clock.advance(5 * MINUTE);
        expectDeferred(await run(), /retry too early, 10m left \(deferred 2 times\)/);
        clock.advance(9 * MINUTE + 59 * SECOND);
        expectDeferred(await run(), /retry too early, 1s left \(deferred 3 times\)/);
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]?.blockedCount).toBe(3);
      });

      it('accepts the retry once the block time has passed, exactly at its end', async () => {
        const { run, clock, s } = await setup();
        await run();
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting: retried after 15m/);
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]).toMatchObject({
          passed: true,
          recordExpiresAt: clock.now() + 30 * DAY,
        });
      });

      it('lets a client that passed through for any sender and recipient, renewing its rows', async () => {
        const { run, clock, s, log } = await setup();
        await run();
        clock.advance(16 * MINUTE);
        await run();
        clock.advance(DAY);
        resetLog(log);
        expectDunno(
          await run({ sender: 'other@example.org', recipient: 'someone@example.com' }),
          /client 192\.0\.2\.10 passed greylisting before \(1 passed triplets\)/,
        );
        expect(log.calls).toContain('refreshPassed');
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]?.recordExpiresAt).toBe(
          clock.now() + 30 * DAY,
        );
      });

      it('deletes the pending triplets of a client when one of its triplets passes', async () => {
        const { run, clock, s } = await setup();
        await run();
        await run({ sender: 'second@example.org' });
        expect(await s.greylist.findTriplets('192.0.2.10')).toHaveLength(2);
        clock.advance(15 * MINUTE);
        await run();
        const rows = await s.greylist.findTriplets('192.0.2.10');
        expect(rows.map((r) => [r.sender, r.passed])).toEqual([['sender@example.net', true]]);
      });

      it('starts over when a pending triplet is older than the unauthenticated expiry (1 day)', async () => {
        const { run, clock } = await setup();
        await run();
        clock.advance(DAY + SECOND);
        expectDeferred(await run(), /triplet expired, starting over, retry accepted after 15m/);
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting/);
      });

      it('honours the configured block time and unauthenticated expiry', async () => {
        const { run, clock } = await setup({ blockExpireMinutes: 5, unauthTripletExpireDays: 2 });
        await run();
        clock.advance(5 * MINUTE);
        expectDunno(await run(), /passed/);
        await run({ sender: 'x@example.org', client_address: '192.0.2.99' });
        clock.advance(DAY + 12 * 60 * MINUTE);
        expectDunno(await run({ sender: 'x@example.org', client_address: '192.0.2.99' }), /passed/);
      });

      it('forgets a passed client after the authenticated expiry (30 days) unless it keeps coming', async () => {
        const { run, clock } = await setup();
        await run();
        clock.advance(15 * MINUTE);
        await run();
        clock.advance(20 * DAY);
        expectDunno(await run({ sender: 'b@example.org' }), /passed greylisting before/);
        clock.advance(20 * DAY);
        expectDunno(await run({ sender: 'c@example.org' }), /passed greylisting before/);
        clock.advance(30 * DAY + SECOND);
        expectDeferred(await run({ sender: 'd@example.org' }), /new triplet/);
        expectDeferred(await run(), /triplet expired, starting over/);
      });

      it('tracks the sender and recipient without extension, lower-cased', async () => {
        const { run, s, clock } = await setup();
        await run({ sender: 'A+x@Ext.TEST', recipient: 'B+y@Example.COM' });
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]).toMatchObject({
          sender: 'a@ext.test',
          senderDomain: 'ext.test',
          recipient: 'b@example.com',
          recipientDomain: 'example.com',
        });
        clock.advance(15 * MINUTE);
        expectDunno(await run({ sender: 'a+other@ext.test', recipient: 'b@example.com' }), /passed/);
      });

      it('greylists the null sender with triplet sender ""', async () => {
        const { run, s } = await setup();
        expectDeferred(await run({ sender: '' }));
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]).toMatchObject({
          sender: '',
          senderDomain: '',
        });
      });

      it('tracks IPv6 clients by their exact address', async () => {
        const { run, clock, s } = await setup();
        expectDeferred(await run({ client_address: '2001:DB8:1:2::10' }));
        expect(await s.greylist.findTriplets('2001:db8:1:2::10')).toHaveLength(1);
        clock.advance(15 * MINUTE);
        expectDeferred(await run({ client_address: '2001:db8:1:2::11' }), /new triplet/);
        expectDunno(await run({ client_address: '2001:db8:1:2::10' }), /passed/);
      });

      it('records but never defers in training mode', async () => {
        const { run, clock, s } = await setup({ trainingMode: true });
        expectDunno(await run(), /^training mode, not deferred: greylisted: new triplet/);
        expectDunno(await run(), /training mode, not deferred: greylisted: retry too early/);
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]?.blockedCount).toBe(2);
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /^passed greylisting/);
      });
    });

    describe('skipped requests', () => {
      it('never greylists authenticated senders and asks no store', async () => {
        const { run, log } = await setup();
        expectDunno(await run({ sasl_username: 'john@example.com' }), /authenticated sender/);
        expect(log.calls).toEqual([]);
      });

      it('never greylists 127.0.0.1, ::1 or MYNETWORKS clients', async () => {
        const { run, log } = await setup({
          mynetworks: ['198.51.100.0/24', '203.0.113.*', '2001:db8:ff::/48', '192.0.2.7'],
        });
        for (const client of [
          '127.0.0.1',
          '::1',
          '198.51.100.9',
          '203.0.113.200',
          '2001:db8:ff:1::5',
          '192.0.2.7',
        ]) {
          expectDunno(await run({ client_address: client }), /trusted client/);
        }
        expect(log.calls).toEqual([]);
        expectDeferred(await run({ client_address: '127.0.0.2' }));
      });

      it('answers DUNNO for a client address that is not an IP', async () => {
        const { run, log } = await setup();
        expectDunno(await run({ client_address: 'unknown' }), /not an IP/);
        expect(log.calls).toEqual([]);
      });

      it('runs at RCPT only, through a policy', async () => {
        const { s } = await setup();
        const clock = fixedClock();
        const plugin = greylisting({ store: s.greylist, dns: createFakeResolver() });
        expect(plugin).toMatchObject({ name: 'greylisting', priority: 80, states: ['RCPT'] });
        const policy = await createPolicy({ plugins: [plugin], now: clock.now });
        const first = await evaluateRequest(policy, {});
        expect(formatResponse(first.decision)).toBe(
          'action=451 4.7.1 Intentional policy rejection, please try again later\n\n',
        );
        expect(first.decidedBy).toBe('greylisting');
        const eom = await evaluateRequest(policy, {
          protocol_state: 'END-OF-MESSAGE',
          sender: 'z@example.org',
        });
        expect(eom.decision.action).toBe('DUNNO');
        expect(eom.trace).toEqual([]);
      });
    });

    describe('settings', () => {
      const on = (account: string, priority: number, sender: string, senderPriority: number, active = 1) => ({
        account,
        priority,
        sender,
        senderPriority,
        active,
      });

      it('is off without any setting', async () => {
        const { run } = await setup({}, {});
        expectDunno(await run(), /no greylisting setting applies to user@example\.com/);
      });

      it('is off when no setting sender matches', async () => {
        const { run } = await setup({}, { settings: [on('@.', 0, '@other.example', 60)] });
        expectDunno(await run(), /no greylisting setting applies/);
      });

      it('lets a per-user setting beat a per-domain one, and a per-domain one beat the global one', async () => {
        const seed = {
          settings: [
            on('@.', 0, '@.', 0, 1),
            on('@example.com', 60, '@.', 0, 0),
            on('vip@example.com', 100, '@.', 0, 1),
          ],
        };
        const { run } = await setup({}, seed);
        expectDunno(await run(), /disabled by setting @\. -> @example\.com/);
        expectDeferred(
          await run({ recipient: 'vip@example.com' }),
          /enabled by setting @\. -> vip@example\.com/,
        );
        expectDeferred(await run({ recipient: 'user@other.example' }), /enabled by setting @\. -> @\./);
      });

      it('ranks subdomain and top-level-domain accounts between the domain and the global ones', async () => {
        const seed = {
          settings: [
            on('@.', 0, '@.', 0, 1),
            on('@.com', 40, '@.', 0, 0),
            on('@.example.com', 50, '@.', 0, 1),
          ],
        };
        const { run } = await setup({}, seed);
        expectDeferred(await run({ recipient: 'u@sub.example.com' }), /-> @\.example\.com/);
        expectDunno(await run({ recipient: 'u@other.com' }), /disabled by setting @\. -> @\.com/);
      });

      it('ranks sender forms within one account: address > IP > network > @domain > @.domain > @.', async () => {
        const seed = {
          settings: [
            on('@.', 0, '@.', 0, 1),
            on('@.', 0, '@.example.net', 50, 0),
            on('@.', 0, '@example.net', 60, 1),
            on('@.', 0, '192.0.2.0/24', 70, 0),
            on('@.', 0, '192.0.2.10', 80, 1),
            on('@.', 0, 'sender@example.net', 100, 0),
          ],
        };
        const { run } = await setup({}, seed);
        expectDunno(await run(), /disabled by setting sender@example\.net -> @\./);
        expectDeferred(await run({ sender: 'x@example.net' }), /enabled by setting 192\.0\.2\.10 -> @\./);
        expectDunno(await run({ sender: 'x@example.net', client_address: '192.0.2.11' }), /192\.0\.2\.0\/24/);
        expectDeferred(
          await run({ sender: 'x@example.net', client_address: '198.51.100.1' }),
          /@example\.net -> @\./,
        );
        expectDunno(
          await run({ sender: 'x@sub.example.net', client_address: '198.51.100.1' }),
          /@\.example\.net/,
        );
        expectDeferred(await run({ sender: 'x@example.org', client_address: '198.51.100.1' }), /@\. -> @\./);
      });

      it('matches network settings stored with priority 0 by iRedAPD (B18), IPv6 ones too (B17)', async () => {
        const seed = {
          settings: [
            on('@.', 0, '@.', 0, 1),
            on('@.', 0, '192.0.2.0/24', 0, 0),
            on('@.', 0, '2001:DB8:0:0:0:0:0:0/32', 0, 0),
          ],
        };
        const { run } = await setup({}, seed);
        expectDunno(await run(), /disabled by setting 192\.0\.2\.0\/24/);
        expectDunno(
          await run({ client_address: '2001:db8:5::1' }),
          /disabled by setting 2001:DB8:0:0:0:0:0:0\/32/,
        );
        expectDeferred(await run({ client_address: '198.51.100.1' }));
      });

      it('matches wildcard-IP settings by octet (B16)', async () => {
        const seed = { settings: [on('@.', 0, '@.', 0, 1), on('@.', 0, '192.*.*.10', 70, 0)] };
        const { run } = await setup({}, seed);
        expectDunno(await run(), /disabled by setting 192\.\*\.\*\.10/);
        expectDeferred(await run({ client_address: '192.0.2.11' }));
      });

      it('compares stored setting senders case-insensitively (B19)', async () => {
        const seed = { settings: [on('@.', 0, '@.', 0, 1), on('@.', 0, '@Example.NET', 60, 0)] };
        const { run } = await setup({}, seed);
        expectDunno(await run(), /disabled by setting @Example\.NET/);
      });

      it('applies the settings of the alias target domain to an alias domain', async () => {
        const seed = { settings: [on('@example.com', 60, '@.', 0, 1), on('@alias.example', 60, '@.', 0, 0)] };
        const { run, s } = await setup({}, seed);
        await s.seedDomains({
          domains: [{ domain: 'example.com' }],
          aliasDomains: [{ aliasDomain: 'alias.test', targetDomain: 'example.com' }],
        });
        expectDeferred(
          await run({ recipient: 'user@alias.test' }),
          /enabled by setting @\. -> @example\.com/,
        );
        expectDunno(
          await run({ recipient: 'user@alias.example' }),
          /disabled by setting @\. -> @alias\.example/,
        );
      });
    });

    describe('whitelists', () => {
      // [what, stored sender, its account, request attributes, expected reason or undefined = greylisted]
      const cases: readonly (readonly [string, string, string, RequestAttributes, RegExp | undefined])[] = [
        [
          'a client IP',
          '192.0.2.10',
          '@.',
          {},
          /whitelisted, sender 192\.0\.2\.10 for @\. \(greylisting whitelists\)/,
        ],
        ['not another IP', '192.0.2.10', '@.', { client_address: '192.0.2.11' }, undefined],
        ['an IPv4 network', '192.0.2.0/24', '@.', {}, /client in network 192\.0\.2\.0\/24/],
        ['not an IPv4 network around others', '192.0.3.0/24', '@.', {}, undefined],
        [
          'an IPv6 network in any spelling (B17)',
          '2001:db8:2:0:0:0:0:0/48',
          '@.',
          { client_address: '2001:db8:2::5' },
          /client in network/,
        ],
        ['a wildcard IPv4 entry (B16)', '192.0.2.*', '@.', {}, /sender 192\.0\.2\.\*/],
        ['any wildcard position (B16)', '192.*.*.10', '@.', {}, /sender 192\.\*\.\*\.10/],
        ['not a wildcard around others', '192.0.3.*', '@.', {}, undefined],
        ['a sender address', 'sender@example.net', '@.', {}, /sender sender@example\.net/],
        ['a sender domain, compared lower-cased', '@Example.NET', '@.', {}, /sender @Example\.NET/],
        ['a top-level domain', '@.net', '@.', { sender: 'a@b.example.net' }, /sender @\.net/],
        ['not a subdomain by @domain', '@example.net', '@.', { sender: 'a@sub.example.net' }, undefined],
        [
          'a tagged sender row for that tagged sender (B33)',
          'x+tag@ext.test',
          '@.',
          { sender: 'x+tag@ext.test' },
          /x\+tag@ext\.test/,
        ],
        ['everyone for one domain', '@.', '@example.com', {}, /sender @\. for @example\.com/],
        ['a sender for one user', 'sender@example.net', 'user@example.com', {}, /for user@example\.com/],
        [
          'a sender for one user, tagged recipient',
          'sender@example.net',
          'user@example.com',
          { recipient: 'user+tag@example.com' },
          /for user@example\.com/,
        ],
        ['not a sender for another user', 'sender@example.net', 'other@example.com', {}, undefined],
      ];

      it.each(cases)('whitelists %s', async (_what, sender, account, attrs, reason) => {
        const { run, s } = await setup();
        await s.seedGreylist({ whitelists: [{ account, sender, source: 'manual' }] });
        const decision = await run(attrs);
        if (reason === undefined) expectDeferred(decision);
        else expectDunno(decision, reason);
      });

      it('whitelists networks generated for whitelist domains', async () => {
        const { run, s } = await setup();
        await s.seedGreylist({ whitelists: [{ account: '@.', sender: '192.0.2.0/25', source: 'spf' }] });
        expectDunno(
          await run(),
          /client in network 192\.0\.2\.0\/25 for @\. \(SPF\/MX networks of whitelist domains\)/,
        );
      });

      it('checks whitelists before settings, so a whitelist wins over an enabling setting', async () => {
        const { run, s } = await setup(
          {},
          {
            settings: [
              {
                account: 'user@example.com',
                priority: 100,
                sender: 'sender@example.net',
                senderPriority: 100,
                active: 1,
              },
            ],
            whitelists: [{ account: '@.', sender: '192.0.2.10', source: 'manual' }],
          },
        );
        expectDunno(await run(), /whitelisted/);
        expect(await s.greylist.findTriplets('192.0.2.10')).toEqual([]);
      });
    });

    describe('SPF bypass', () => {
      const zone = {
        'example.net': { TXT: [['v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/32 ~all']] },
        'fail.test': { TXT: [['v=spf1 -all']] },
        'broken.test': { error: 'ESERVFAIL' },
        'slow.test': { TXT: [['v=spf1 +all']], delayMs: 2_000 },
      };

      it('does not greylist a client the sender domain authorises, and records nothing', async () => {
        const { run, s } = await setup({}, GLOBAL_ON, createFakeResolver(zone));
        expectDunno(await run(), /SPF pass, example\.net authorises 192\.0\.2\.10/);
        expectDunno(await run({ client_address: '2001:db8::25' }), /SPF pass/);
        expect(await s.greylist.findTriplets('192.0.2.10')).toEqual([]);
      });

      it('greylists when SPF does not pass, and says so', async () => {
        const { run } = await setup({}, GLOBAL_ON, createFakeResolver(zone));
        expectDeferred(await run({ client_address: '192.0.2.200' }), /SPF softfail for example\.net/);
        expectDeferred(await run({ sender: 'a@fail.test' }), /SPF fail for fail\.test/);
        expectDeferred(await run({ sender: 'a@none.test' }), /SPF none for none\.test/);
        expectDeferred(await run({ sender: 'a@broken.test' }), /SPF temperror for broken\.test/);
      });

      it('gives up after the DNS timeout and greylists', async () => {
        const { run } = await setup({ dnsTimeoutMs: 50 }, GLOBAL_ON, createFakeResolver(zone));
        const started = Date.now();
        expectDeferred(await run({ sender: 'a@slow.test' }), /SPF timeout for slow\.test/);
        expect(Date.now() - started).toBeLessThan(1_500);
      });

      it('skips the check for the null sender, the SRS domain, and when turned off', async () => {
        const dns = createFakeResolver(zone);
        const { run } = await setup({ srsDomain: 'SRS.example.net' }, GLOBAL_ON, dns);
        expectDeferred(await run({ sender: '' }));
        expectDeferred(await run({ sender: 'srs0=x@srs.example.net' }));
        expect(dns.queries).toEqual([]);
        const off = await setup({ bypassSpf: false }, GLOBAL_ON, dns);
        expectDeferred(await off.run());
        expect(dns.queries).toEqual([]);
      });

      it('asks no DNS for a client that already passed (B21)', async () => {
        const dns = createFakeResolver(zone);
        const { run, clock } = await setup({}, GLOBAL_ON, dns);
        await run({ client_address: '198.51.100.7' });
        clock.advance(15 * MINUTE);
        await run({ client_address: '198.51.100.7' });
        const asked = dns.queries.length;
        expectDunno(
          await run({ client_address: '198.51.100.7', sender: 'new@example.net' }),
          /passed greylisting before/,
        );
        expect(dns.queries.length).toBe(asked);
      });

      it('reuses an SPF answer for the cache time', async () => {
        const dns = createFakeResolver(zone);
        const { run, clock } = await setup({ spfCacheTtlMs: 60_000 }, GLOBAL_ON, dns);
        await run({ client_address: '192.0.2.200' });
        const asked = dns.queries.length;
        expect(asked).toBeGreaterThan(0);
        await run({ client_address: '192.0.2.200', recipient: 'other@example.com' });
        expect(dns.queries.length).toBe(asked);
        clock.advance(60_000);
        await run({ client_address: '192.0.2.200', recipient: 'third@example.com' });
        expect(dns.queries.length).toBeGreaterThan(asked);
      });
    });

    describe('beyond iRedAPD', () => {
      it('groups clients by /24 and /64 when asked', async () => {
        const { run, clock, s } = await setup({ groupByNetwork: true });
        expectDeferred(await run(), /client 192\.0\.2\.0\/24/);
        expect(await s.greylist.findTriplets('192.0.2.0/24')).toHaveLength(1);
        clock.advance(15 * MINUTE);
        expectDunno(await run({ client_address: '192.0.2.77' }), /passed greylisting: retried after 15m/);
        expectDunno(
          await run({ client_address: '192.0.2.78', sender: 'b@example.org' }),
          /client 192\.0\.2\.0\/24 passed/,
        );
        expectDeferred(await run({ client_address: '192.0.3.1' }));

        await run({ client_address: '2001:db8:1:2:aaaa::1' });
        clock.advance(15 * MINUTE);
        expectDunno(await run({ client_address: '2001:db8:1:2:bbbb::2' }), /passed/);
        expectDeferred(await run({ client_address: '2001:db8:1:3::1' }));
      });

      it('uses the configured prefix lengths', async () => {
        const { run, clock } = await setup({ groupByNetwork: { v4Prefix: 16, v6Prefix: 48 } });
        await run();
        clock.advance(15 * MINUTE);
        expectDunno(await run({ client_address: '192.0.99.1' }), /passed/);
        await run({ client_address: '2001:db8:1:2::1' });
        clock.advance(15 * MINUTE);
        expectDunno(await run({ client_address: '2001:db8:1:ffff::1' }), /passed/);
      });

      it('still matches settings and whitelists by the real client address when grouping', async () => {
        const { run, s } = await setup({ groupByNetwork: true });
        await s.seedGreylist({ whitelists: [{ account: '@.', sender: '192.0.2.10', source: 'manual' }] });
        expectDunno(await run(), /whitelisted/);
        expectDeferred(await run({ client_address: '192.0.2.11' }));
      });

      it('whitelists a client only after N passed triplets with autoWhitelistClients', async () => {
        const { run, clock } = await setup({ autoWhitelistClients: 2 });
        await run();
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting: retried/);
        expectDeferred(await run({ sender: 'b@example.org' }), /new triplet/);
        clock.advance(15 * MINUTE);
        expectDunno(await run({ sender: 'b@example.org' }), /passed greylisting: retried/);
        expectDunno(
          await run({ sender: 'c@example.org' }),
          /passed greylisting before \(2 passed triplets\)/,
        );
      });

      it('greylists every triplet on its own with autoWhitelistClients: 0', async () => {
        const { run, clock } = await setup({ autoWhitelistClients: 0 });
        await run();
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting: retried/);
        expectDunno(await run(), /triplet passed before/);
        expectDeferred(await run({ sender: 'b@example.org' }), /new triplet/);
      });
    });

    describe('passed-client memory (passedClientCacheTtlMs)', () => {
      const REMEMBERED =
        /^not greylisted: client 192\.0\.2\.10 passed greylisting before \(remembered, no look-up\)$/;

      /** Let the default client pass one triplet, then reach the "passed before" answer once. */
      async function passClient(run: (attrs?: RequestAttributes) => Promise<Decision>, clock: FixedClock) {
        expectDeferred(await run());
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting: retried/);
        expectDunno(
          await run({ sender: 'b@example.org' }),
          /passed greylisting before \(1 passed triplets\)/,
        );
      }

      it('answers a remembered client with no store call at all', async () => {
        const { run, clock, log } = await setup({ passedClientCacheTtlMs: MINUTE });
        await passClient(run, clock);
        resetLog(log);
        expectDunno(await run({ sender: 'c@example.org', recipient: 'other@example.com' }), REMEMBERED);
        expectDunno(await run({ sender: '', recipient: 'x@elsewhere.test' }), REMEMBERED);
        expect(log.calls).toEqual([]);
        // Checks that need no store still come first.
        expectDunno(await run({ sasl_username: 'user@example.com' }), /authenticated sender/);
        expect(log.calls).toEqual([]);
      });

      it('is off by default: every request reads the store', async () => {
        const { run, clock, log } = await setup();
        await passClient(run, clock);
        resetLog(log);
        expectDunno(
          await run({ sender: 'c@example.org' }),
          /passed greylisting before \(1 passed triplets\)/,
        );
        expect([...log.calls].sort()).toEqual(['loadContext', 'lookupDomains', 'refreshPassed']);
      });

      it('forgets the client after the TTL, then reads the store and renews its rows again', async () => {
        const { run, clock, log, s } = await setup({ passedClientCacheTtlMs: MINUTE });
        await passClient(run, clock);
        const refreshedAt = clock.now();
        clock.advance(MINUTE - 1);
        resetLog(log);
        expectDunno(await run({ sender: 'c@example.org' }), REMEMBERED);
        expect(log.calls).toEqual([]);
        // Renewed at most once per TTL: the hit above did not touch the rows.
        expect((await s.greylist.findTriplets('192.0.2.10'))[0]?.recordExpiresAt).toBe(
          refreshedAt + 30 * DAY,
        );
        clock.advance(1);
        expectDunno(
          await run({ sender: 'c@example.org' }),
          /passed greylisting before \(1 passed triplets\)/,
        );
        expect([...log.calls].sort()).toEqual(['loadContext', 'lookupDomains', 'refreshPassed']);
        resetLog(log);
        expectDunno(await run({ sender: 'd@example.org' }), REMEMBERED);
        expect(log.calls).toEqual([]);
      });

      it('keeps at most passedClientCacheSize clients, dropping the least recently used', async () => {
        const { run, clock, log } = await setup({ passedClientCacheTtlMs: DAY, passedClientCacheSize: 1 });
        await passClient(run, clock);
        const other = { client_address: '198.51.100.7' };
        expectDeferred(await run(other));
        clock.advance(15 * MINUTE);
        expectDunno(await run(other), /passed greylisting: retried/);
        expectDunno(await run({ ...other, sender: 'b@example.org' }), /passed greylisting before \(1 passed/);
        resetLog(log);
        expectDunno(await run({ ...other, sender: 'c@example.org' }), /remembered/);
        expect(log.calls).toEqual([]);
        expectDunno(
          await run({ sender: 'c@example.org' }),
          /passed greylisting before \(1 passed triplets\)/,
        );
        expect(log.calls).toContain('loadContext');
      });

      it('never remembers a client that has not passed, nor one below autoWhitelistClients', async () => {
        const { run, clock, log } = await setup({ passedClientCacheTtlMs: DAY, autoWhitelistClients: 2 });
        expectDeferred(await run(), /new triplet/);
        expectDeferred(await run(), /retry too early/);
        clock.advance(15 * MINUTE);
        expectDunno(await run(), /passed greylisting: retried/);
        expectDunno(await run(), /passed greylisting: triplet passed before/);
        resetLog(log);
        expectDeferred(await run({ sender: 'b@example.org' }), /new triplet/);
        expect(log.calls).toContain('recordAttempt');
      });

      it('remembers a client that passed through a specific setting, for every recipient', async () => {
        const seed = {
          settings: [
            { account: 'vip@example.com', priority: 100, sender: '@.', senderPriority: 0, active: 1 },
          ],
        };
        const { run, clock, log } = await setup({ passedClientCacheTtlMs: MINUTE }, seed);
        const vip = { recipient: 'vip@example.com' };
        expectDeferred(await run(vip), /enabled by setting @\. -> vip@example\.com/);
        clock.advance(15 * MINUTE);
        expectDunno(await run(vip), /passed greylisting: retried/);
        expectDunno(await run({ ...vip, sender: 'b@example.org' }), /passed greylisting before/);
        resetLog(log);
        // Without the memory: "no greylisting setting applies", DUNNO as well.
        expectDunno(await run({ recipient: 'user@example.com' }), REMEMBERED);
        expect(log.calls).toEqual([]);
      });

      it('remembers the network when clients are grouped', async () => {
        const { run, clock, log } = await setup({ passedClientCacheTtlMs: MINUTE, groupByNetwork: true });
        await passClient(run, clock);
        resetLog(log);
        expectDunno(
          await run({ client_address: '192.0.2.200', sender: 'c@example.org' }),
          /^not greylisted: client 192\.0\.2\.0\/24 passed greylisting before \(remembered, no look-up\)$/,
        );
        expect(log.calls).toEqual([]);
      });
    });

    describe('store round trips', () => {
      it('costs 2 round trips for a client that already passed', async () => {
        const { run, clock, log } = await setup({}, GLOBAL_ON, createFakeResolver());
        await run();
        clock.advance(15 * MINUTE);
        await run();
        resetLog(log);
        expectDunno(await run({ sender: 'b@example.org' }), /passed greylisting before/);
        expect(log.rounds).toBe(2);
        expect([...log.calls].sort()).toEqual(['loadContext', 'lookupDomains', 'refreshPassed']);
      });

      it('costs 2 round trips for a new triplet', async () => {
        const { run, log } = await setup();
        expectDeferred(await run());
        expect(log.rounds).toBe(2);
        expect([...log.calls].sort()).toEqual(['loadContext', 'lookupDomains', 'recordAttempt']);
      });

      it('costs 1 round trip for a whitelisted or disabled request, 3 for an alias domain', async () => {
        const { run, log, s } = await setup();
        await s.seedGreylist({ whitelists: [{ account: '@.', sender: '192.0.2.10', source: 'manual' }] });
        expectDunno(await run());
        expect(log.rounds).toBe(1);
        await s.seedDomains({
          domains: [{ domain: 'example.com' }],
          aliasDomains: [{ aliasDomain: 'alias.test', targetDomain: 'example.com' }],
        });
        resetLog(log);
        await run({ recipient: 'user@alias.test', client_address: '198.51.100.1' });
        expect(log.rounds).toBe(3);
      });
    });
  });
}
