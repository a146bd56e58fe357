/**
 * The flow around the limits: bypasses, protocol states, the order of the two sides, atomic counting under
 * concurrency, and the round-trip budget.
 */

import { createPolicy, Decision, type ThrottleStore } from '@policyd/core';
import { evaluateRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { throttle } from '../src/index.ts';
import type { ThrottleBackendFactory } from './harness.ts';
import { EOM, QUOTA, T0, textOf, useRig } from './setup.ts';

const HOUR = 3600;

/** Register the flow, concurrency and round-trip tests for one backend. */
export function describeFlow(factory: ThrottleBackendFactory): void {
  const rig = useRig(factory);

  describe('bypass options', () => {
    it('skips everything for mail within one domain (of the SASL login when there is one), by default', async () => {
      const r = rig();
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: HOUR,
        maxMessages: 0,
        maxRecipients: 1,
      });
      await r.setting({ account: '@.', kind: 'outbound', periodSeconds: HOUR, maxRecipients: 1 });
      const many = { recipient: 'user@example.com', recipient_count: 2 };
      expect(await r.said({ ...many, sender: 'a@example.com' })).toEqual(
        Decision.dunno('throttle:same-domain'),
      );
      const login = { ...many, sasl_username: 'john@example.com', sender: 'forged@example.org' };
      expect(await r.said(login)).toEqual(Decision.dunno('throttle:same-domain'));
      expect(r.meter.calls.size).toBe(0);
      await r.reconfigure({ bypassSameDomain: false });
      expect((await r.send({ ...many, sender: 'a@example.com' })).reason).toBe('throttle:external:max_rcpts');
      expect((await r.send(login)).reason).toBe('throttle:outbound:max_rcpts');
    });

    it('does not count a null sender with several recipients as same-domain mail (B28)', async () => {
      const r = rig();
      await r.setting({ account: '@ip', kind: 'external', periodSeconds: HOUR, maxMessages: 2 });
      const bounce = { sender: '', recipient: '', recipient_count: 2 };
      expect((await r.send(bounce)).action).toBe('DUNNO');
      expect(textOf(await r.send(bounce))).toBe(QUOTA);
    });

    it('throttles trusted clients unless bypassMynetworks is on', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'outbound', periodSeconds: HOUR, maxRecipients: 1 });
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxRecipients: 1 });
      const many = { recipient: '', recipient_count: 2 };
      expect((await r.send({ ...many, client_address: '127.0.0.1' })).action).toBe('REJECT');
      await r.reconfigure({ bypassMynetworks: true, mynetworks: ['198.51.100.0/24', '203.0.113.*'] });
      for (const ip of ['127.0.0.1', '::1', '198.51.100.7', '203.0.113.9']) {
        expect(await r.said({ ...many, client_address: ip })).toEqual(
          Decision.dunno('throttle:trusted-client'),
        );
      }
      expect((await r.send({ ...many, client_address: '192.0.2.10' })).action).toBe('REJECT');
    });

    it('skips recipient throttling for authenticated senders unless bypassLocalRecipient is off', async () => {
      const r = rig();
      await r.setting({
        account: 'user@example.com',
        kind: 'inbound',
        periodSeconds: HOUR,
        maxMessageSizeBytes: 10,
      });
      const auth = { sasl_username: 'john@example.org' };
      expect((await r.send(auth)).action).toBe('DUNNO');
      expect((await r.send()).reason).toBe('throttle:inbound:msg_size');
      await r.reconfigure({ bypassLocalRecipient: false });
      expect((await r.send(auth)).reason).toBe('throttle:inbound:msg_size');
    });
  });

  describe('protocol states', () => {
    it('runs at END-OF-MESSAGE only: a RCPT request is neither checked nor counted', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      for (let i = 0; i < 3; i++) {
        const evaluation = await evaluateRequest(r.policy, {
          ...EOM,
          protocol_state: 'RCPT',
          recipient_count: 0,
        });
        expect(evaluation.trace).toEqual([]);
        expect(evaluation.decision.action).toBe('DUNNO');
      }
      expect(r.meter.calls.size).toBe(0);
      expect(r.policy.plugins.map((p) => [p.name, p.priority, p.states])).toEqual([
        ['throttle', 60, ['END-OF-MESSAGE']],
      ]);
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('REJECT');
    });
  });

  describe('sender and recipient sides', () => {
    it('rejects on the sender side first and then counts nothing', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessageSizeBytes: 10 });
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxMessages: 5 });
      expect((await r.send()).reason).toBe('throttle:external:msg_size');
      expect(await r.backend.throttle.listCounters({ trackingAccount: 'user@example.com' })).toEqual([]);
    });

    it("reports the sender's quota before the recipient's message size, as iRedAPD", async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 1 });
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxMessageSizeBytes: 1500 });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send({ size: 2000 })).reason).toBe('throttle:external:max_msgs');
    });

    it('counts the sender when the recipient side rejects by message size (B29, as iRedAPD)', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 10 });
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxMessageSizeBytes: 10 });
      expect((await r.send()).reason).toBe('throttle:inbound:msg_size');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => c.messages)).toEqual([1]);
    });

    it("does not count the sender when the recipient's counter rejects: one atomic charge (B29)", async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 10 });
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxMessages: 2 });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send({ sender: 'other@example.org' })).action).toBe('DUNNO');
      expect(await r.send()).toEqual(Decision.reject(QUOTA, 'throttle:inbound:max_msgs'));
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => c.messages)).toEqual([1]);
    });
  });

  describe('atomic counting', () => {
    it('admits exactly max_msgs of 50 concurrent messages and fires one event', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 10 });
      const decisions = await Promise.all(Array.from({ length: 50 }, () => r.send()));
      expect(decisions.filter((d) => d.action === 'DUNNO')).toHaveLength(10);
      expect(decisions.filter((d) => textOf(d) === QUOTA)).toHaveLength(40);
      await r.policy.close();
      expect(r.events).toHaveLength(1);
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => c.messages)).toEqual([10]);
    });

    it('admits exactly what the quota rule admits under concurrency, across two counters', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxQuotaBytes: 1000 });
      await r.setting({ account: '@ip', kind: 'inbound', periodSeconds: HOUR, maxMessages: 40 });
      // Each message is 100 bytes: admitted while the bytes before it are ≤ 1000, so 11 of them.
      const decisions = await Promise.all(Array.from({ length: 50 }, () => r.send({ size: 100 })));
      expect(decisions.filter((d) => d.action === 'DUNNO')).toHaveLength(11);
      const inbound = await r.backend.throttle.listCounters({ trackingAccount: '192.0.2.10' });
      expect(inbound.map((c) => c.messages)).toEqual([11]);
    });
  });

  describe('round trips', () => {
    it('costs two: settings of both sides with the domain look-up alongside, then one consume', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 10 });
      await r.setting({ account: '@.', kind: 'inbound', periodSeconds: HOUR, maxQuotaBytes: 10_000 });
      expect((await r.send()).action).toBe('DUNNO');
      expect(Object.fromEntries(r.meter.calls)).toEqual({
        'throttle.findSettings': 1,
        'domains.lookupDomains': 1,
        'throttle.consume': 1,
      });
      expect(r.meter.roundTrips()).toBe(2);
    });

    it('costs one when no counter applies', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessageSizeBytes: 10_000 });
      expect((await r.send()).action).toBe('DUNNO');
      expect(r.meter.roundTrips()).toBe(1);
    });
  });

  describe('store support', () => {
    it('fails loudly when sliding windows are asked of a store that ignores them', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: HOUR, maxMessages: 10 });
      const store = r.backend.throttle;
      // Only what the plugin calls; the sliding field is dropped, as an older store would.
      const fixedOnly = {
        findSettings: (q) => store.findSettings(q),
        consume: async (charges, now) =>
          store.consume(
            charges.map(({ algorithm: _ignored, ...rest }) => rest),
            now,
          ),
      } as Pick<ThrottleStore, 'findSettings' | 'consume'> as ThrottleStore;
      const policy = await createPolicy({
        plugins: [throttle({ store: fixedOnly, algorithm: 'sliding' })],
        now: () => T0,
      });
      const { trace } = await evaluateRequest(policy, EOM);
      expect(trace[0]?.outcome).toBe('failed');
      const error = trace[0]?.error;
      expect(`${error?.message} ${String(error?.cause)}`).toMatch(/does not support sliding windows/);
      await policy.close();
    });
  });
}
