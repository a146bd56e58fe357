/**
 * Decisions: the four limits, the three kinds, precedence and `-1` inheritance, account forms and the counter
 * each one charges.
 */

import { Decision } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import type { ThrottleBackendFactory } from './harness.ts';
import { QUOTA, textOf, useRig } from './setup.ts';

const HOUR = 3600;

/** Register the limit, kind and precedence tests for one backend. */
export function describeLimits(factory: ThrottleBackendFactory): void {
  const rig = useRig(factory);

  describe('the four limits', () => {
    it('msg_size: a message of exactly the limit passes, a larger one is rejected and not counted', async () => {
      const r = rig();
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessageSizeBytes: 1000,
        maxMessages: 0,
      });
      expect(await r.send({ size: 1000 })).toEqual(Decision.dunno());
      expect(await r.send({ size: 1001 })).toEqual(
        Decision.reject('Message size is too large', 'throttle:external:msg_size'),
      );
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => [c.messages, c.bytes])).toEqual([[1, 1000]]);
    });

    it('max_rcpts: as many recipients as the limit pass, one more is rejected', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxRecipients: 3 });
      expect((await r.send({ recipient: '', recipient_count: 3 })).action).toBe('DUNNO');
      expect(await r.send({ recipient: '', recipient_count: 4 })).toEqual(
        Decision.reject('Too many recipients in single message', 'throttle:external:max_rcpts'),
      );
    });

    it('max_msgs: counts recipients, admits a message landing exactly on the limit, rejects the next', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 5 });
      expect((await r.send({ recipient: '', recipient_count: 3 })).action).toBe('DUNNO');
      expect(await r.send({ recipient: '', recipient_count: 3 })).toEqual(
        Decision.reject(QUOTA, 'throttle:external:max_msgs'),
      );
      expect((await r.send({ recipient: '', recipient_count: 2 })).action).toBe('DUNNO');
      expect((await r.send({ recipient: '', recipient_count: 1 })).action).toBe('REJECT');
    });

    it('max_quota: the message crossing the quota passes, the next one is rejected', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxQuotaBytes: 2500 });
      for (const size of [1000, 1000, 1000]) expect((await r.send({ size })).action).toBe('DUNNO');
      expect(await r.send({ size: 1 })).toEqual(Decision.reject(QUOTA, 'throttle:external:max_quota'));
    });

    it('checks in iRedAPD order: msg_size, max_rcpts, then the counters', async () => {
      const r = rig();
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessageSizeBytes: 100,
        maxRecipients: 1,
        maxMessages: 1,
      });
      expect(textOf(await r.send({ recipient: '', recipient_count: 2, size: 200 }))).toBe(
        'Message size is too large',
      );
      expect(textOf(await r.send({ recipient: '', recipient_count: 2, size: 50 }))).toBe(
        'Too many recipients in single message',
      );
      expect(await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' })).toEqual([]);
    });

    it('treats 0 as unlimited: it claims the rule but never rejects, and its counter is still kept', async () => {
      const r = rig();
      await r.setting({
        account: 'sender@example.net',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 0,
      });
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      for (let i = 0; i < 3; i++) expect((await r.send()).action).toBe('DUNNO');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => c.messages)).toEqual([3]);
    });
  });

  describe('kinds', () => {
    it('throttles an authenticated sender as outbound, by the SASL login (not extension-stripped)', async () => {
      const r = rig();
      await r.setting({
        account: 'john+x@example.com',
        kind: 'outbound',
        periodSeconds: HOUR,
        maxMessages: 1,
      });
      await r.setting({
        account: 'john+x@example.com',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 0,
      });
      const auth = {
        sasl_username: 'John+x@Example.com',
        sender: 'other@example.org',
        recipient: 'a@example.org',
      };
      expect((await r.send(auth)).action).toBe('DUNNO');
      expect(await r.send(auth)).toEqual(Decision.reject(QUOTA, 'throttle:outbound:max_msgs'));
    });

    it('throttles an unauthenticated sender on localhost as outbound, by its envelope sender', async () => {
      const r = rig();
      await r.setting({ account: 'web@example.net', kind: 'outbound', periodSeconds: HOUR, maxMessages: 1 });
      const local = { client_address: '127.0.0.1', sender: 'web+tag@example.net' };
      expect((await r.send(local)).action).toBe('DUNNO');
      expect((await r.send({ ...local, client_address: '::1' })).reason).toBe('throttle:outbound:max_msgs');
      // From elsewhere the same sender is external: the outbound setting does not apply.
      expect((await r.send({ sender: 'web@example.net' })).action).toBe('DUNNO');
    });

    it('throttles other unauthenticated senders as external', async () => {
      const r = rig();
      await r.setting({ account: '@example.net', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      await r.setting({ account: '@example.net', kind: 'outbound', periodSeconds: HOUR, maxMessages: 0 });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send({ sender: 'other@example.net' })).action).toBe('DUNNO');
      expect((await r.send()).reason).toBe('throttle:external:max_msgs');
    });

    it('throttles the recipient as inbound, by its address without extension', async () => {
      const r = rig();
      await r.setting({ account: 'user@example.com', kind: 'inbound', periodSeconds: HOUR, maxMessages: 1 });
      expect((await r.send({ recipient: 'user+a@example.com' })).action).toBe('DUNNO');
      expect(await r.send({ recipient: 'user+b@example.com', sender: 'x@example.org' })).toEqual(
        Decision.reject(QUOTA, 'throttle:inbound:max_msgs'),
      );
    });

    it('matches only IP-based inbound settings for a message with several recipients (B31)', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxMessages: 1 });
      await r.setting({ account: '@ip', kind: 'inbound', periodSeconds: HOUR, maxRecipients: 2 });
      expect((await r.send({ recipient: '', recipient_count: 2 })).action).toBe('DUNNO');
      expect((await r.send({ recipient: '', recipient_count: 3 })).reason).toBe('throttle:inbound:max_rcpts');
    });
  });

  describe('precedence and inheritance', () => {
    it('takes each rule from the highest-priority row that sets it (>= 0); -1 inherits', async () => {
      const r = rig();
      await r.setting({
        account: 'sender@example.net',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 2,
        maxMessageSizeBytes: -1,
      });
      await r.setting({
        account: '@example.net',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessageSizeBytes: 5000,
        maxMessages: 100,
      });
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: HOUR,
        maxRecipients: 2,
        maxMessages: 1,
      });
      expect(textOf(await r.send({ size: 5001 }))).toBe('Message size is too large');
      expect(textOf(await r.send({ recipient: '', recipient_count: 3 }))).toBe(
        'Too many recipients in single message',
      );
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('REJECT');
    });

    it('follows the stored priority, not the account form', async () => {
      const r = rig();
      await r.setting({
        account: 'sender@example.net',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 0,
      });
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: HOUR,
        priority: 200,
        maxMessages: 1,
      });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('REJECT');
    });

    it('ignores a row with period 0 entirely, even its msg_size and max_rcpts (B24)', async () => {
      const r = rig();
      await r.setting({
        account: 'sender@example.net',
        kind: 'external',
        periodSeconds: 0,
        maxMessageSizeBytes: 10,
      });
      expect((await r.send({ size: 1000 })).action).toBe('DUNNO');
      await r.setting({ account: '@.', kind: 'external', periodSeconds: 60, maxMessageSizeBytes: 100 });
      expect((await r.send({ size: 1000 })).action).toBe('REJECT');
    });

    it('lets different rows own msgs and quota, each with its own counter', async () => {
      const r = rig();
      const user = await r.setting({
        account: 'sender@example.net',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 10,
      });
      const domain = await r.setting({
        account: '@example.net',
        kind: 'external',
        periodSeconds: 60,
        maxQuotaBytes: 1500,
      });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).reason).toBe('throttle:external:max_quota');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => [c.settingId, c.periodSeconds, c.messages, c.bytes])).toEqual([
        [user, HOUR, 2, 2000],
        [domain, 60, 2, 2000],
      ]);
    });

    it('with no setting, or only IP ones for a null sender, answers DUNNO without counting', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      for (let i = 0; i < 3; i++)
        expect((await r.send({ sender: '', recipient: '', recipient_count: 2 })).action).toBe('DUNNO');
      expect(r.meter.calls.get('throttle.consume')).toBeUndefined();
    });
  });

  describe('account forms and their counters', () => {
    it('counts a domain or global setting per user (B30)', async () => {
      const r = rig();
      await r.setting({ account: '@example.net', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      expect((await r.send({ sender: 'a@example.net' })).action).toBe('DUNNO');
      expect((await r.send({ sender: 'b@example.net' })).action).toBe('DUNNO');
      expect((await r.send({ sender: 'a@example.net' })).action).toBe('REJECT');
    });

    it('counts an @ip setting per client IP, across senders', async () => {
      const r = rig();
      await r.setting({ account: '@ip', kind: 'external', periodSeconds: HOUR, maxMessages: 2 });
      expect((await r.send({ sender: 'a@example.net' })).action).toBe('DUNNO');
      expect((await r.send({ sender: 'b@example.org' })).action).toBe('DUNNO');
      expect((await r.send({ sender: 'c@example.org' })).action).toBe('REJECT');
      expect((await r.send({ client_address: '192.0.2.11' })).action).toBe('DUNNO');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: '192.0.2.10' });
      expect(counters.map((c) => c.messages)).toEqual([2]);
    });

    it('counts an IP setting per client IP, IPv6 in canonical form', async () => {
      const r = rig();
      await r.setting({ account: '2001:DB8::1', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      expect((await r.send({ client_address: '2001:db8:0::1' })).action).toBe('DUNNO');
      expect((await r.send({ client_address: '2001:DB8::1', sender: 'z@example.org' })).action).toBe(
        'REJECT',
      );
    });

    it('counts a wildcard IP setting once for its whole range, and reads the counter back (B26)', async () => {
      const r = rig();
      await r.setting({ account: '192.0.2.*', kind: 'external', periodSeconds: HOUR, maxMessages: 3 });
      for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
        expect((await r.send({ client_address: ip, sender: `s${ip}@example.org` })).action).toBe('DUNNO');
      }
      expect((await r.send({ client_address: '192.0.2.4' })).action).toBe('REJECT');
      expect((await r.send({ client_address: '192.0.3.4' })).action).toBe('DUNNO');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: '192.0.2.*' });
      expect(counters.map((c) => c.messages)).toEqual([3]);
    });

    it('matches a.b.c.* and a.b.*.d by default, any wildcard with enableAllWildcardIp', async () => {
      const r = rig();
      await r.setting({ account: '192.*.2.*', kind: 'external', periodSeconds: HOUR, maxRecipients: 1 });
      await r.setting({
        account: '192.0.*.10',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessageSizeBytes: 10,
      });
      const big = { recipient: '', recipient_count: 2, size: 100 };
      expect(textOf(await r.send(big))).toBe('Message size is too large');
      await r.backend.throttle.deleteSetting('192.0.*.10', 'external');
      expect((await r.send(big)).action).toBe('DUNNO');
      await r.reconfigure({ enableAllWildcardIp: true });
      expect(textOf(await r.send(big))).toBe('Too many recipients in single message');
    });

    it('matches network settings, IPv4 and IPv6, with one counter for the network (B27)', async () => {
      const r = rig();
      await r.setting({ account: '192.0.2.0/25', kind: 'external', periodSeconds: HOUR, maxMessages: 2 });
      await r.setting({ account: '2001:db8::/32', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      expect(
        (await r.backend.throttle.listSettings({ account: '192.0.2.0/25' })).map((s) => s.priority),
      ).toEqual([70]);
      expect((await r.send({ client_address: '192.0.2.1' })).action).toBe('DUNNO');
      expect((await r.send({ client_address: '192.0.2.127', sender: 'b@example.org' })).action).toBe('DUNNO');
      expect((await r.send({ client_address: '192.0.2.100', sender: 'c@example.org' })).action).toBe(
        'REJECT',
      );
      expect((await r.send({ client_address: '192.0.2.128' })).action).toBe('DUNNO');
      expect((await r.send({ client_address: '2001:db8:5::9' })).action).toBe('DUNNO');
      expect((await r.send({ client_address: '2001:db8:7::1' })).action).toBe('REJECT');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: '192.0.2.0/25' });
      expect(counters.map((c) => c.messages)).toEqual([2]);
    });

    it('matches user@* settings for any domain, with one shared counter (B27)', async () => {
      const r = rig();
      await r.setting({ account: 'news@*', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      expect((await r.send({ sender: 'news+x@example.net' })).action).toBe('DUNNO');
      expect((await r.send({ sender: 'news@example.org' })).action).toBe('REJECT');
      expect((await r.send({ sender: 'other@example.org' })).action).toBe('DUNNO');
    });

    it('matches sub-domain and top-level settings', async () => {
      const r = rig();
      await r.setting({ account: '@.net', kind: 'external', periodSeconds: HOUR, maxMessageSizeBytes: 500 });
      await r.setting({ account: '@.example.net', kind: 'external', periodSeconds: HOUR, maxRecipients: 1 });
      expect(
        textOf(await r.send({ sender: 'a@mx.example.net', recipient: '', recipient_count: 2, size: 10 })),
      ).toBe('Too many recipients in single message');
      expect(textOf(await r.send({ sender: 'a@other.net', recipient: '', recipient_count: 2 }))).toBe(
        'Message size is too large',
      );
    });

    it("matches the settings of the alias domain's target, counting under the user's own address", async () => {
      const r = rig();
      await r.backend.seedDomains({
        domains: [{ domain: 'example.com' }],
        aliasDomains: [{ aliasDomain: 'alias.example', targetDomain: 'example.com' }],
      });
      await r.setting({ account: 'john@example.com', kind: 'inbound', periodSeconds: HOUR, maxMessages: 1 });
      expect((await r.send({ recipient: 'john@alias.example' })).action).toBe('DUNNO');
      expect(r.meter.roundTrips()).toBe(3);
      expect((await r.send({ recipient: 'john@alias.example' })).reason).toBe('throttle:inbound:max_msgs');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'john@alias.example' });
      expect(counters.map((c) => c.messages)).toEqual([1]);
    });
  });
}
