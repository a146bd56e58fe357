/**
 * Time: fixed windows (start, expiry, reset), the "limit exceeded" event once per window, and the options
 * beyond iRedAPD (sliding windows, strict quota, dry run).
 */

import { Decision } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import type { ThrottleBackendFactory } from './harness.ts';
import { QUOTA, T0, textOf, useRig } from './setup.ts';

const PERIOD = 100;
const s = (seconds: number): number => seconds * 1000;

/** Register the window, event and option tests for one backend. */
export function describeWindows(factory: ThrottleBackendFactory): void {
  describe('fixed windows', () => {
    const rig = useRig(factory);

    it('starts with the first counted message and resets strictly after the period', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 2 });
      r.clock.advance(s(10));
      expect((await r.send()).action).toBe('DUNNO');
      r.clock.advance(s(50));
      expect((await r.send()).action).toBe('DUNNO');
      const [counter] = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counter).toMatchObject({
        messages: 2,
        bytes: 2000,
        windowStartAt: T0 + s(10),
        periodSeconds: PERIOD,
      });
      // The window started at +10 s is still current at +110 s (iRedAPD: now > start + period to expire).
      r.clock.set(T0 + s(10 + PERIOD));
      expect((await r.send()).action).toBe('REJECT');
      r.clock.advance(s(1));
      expect((await r.send()).action).toBe('DUNNO');
      const [reset] = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(reset).toMatchObject({ messages: 1, windowStartAt: T0 + s(11 + PERIOD) });
    });

    it('starts a new window with the first message after a long pause, not at the old boundary', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 1 });
      expect((await r.send()).action).toBe('DUNNO');
      r.clock.advance(s(5 * PERIOD + 37));
      expect((await r.send()).action).toBe('DUNNO');
      r.clock.advance(s(PERIOD));
      expect((await r.send()).action).toBe('REJECT');
    });

    it('forgets a counter reset through the store', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 1 });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('REJECT');
      expect(await r.backend.throttle.resetCounters({ trackingAccount: 'sender@example.net' })).toBe(1);
      expect((await r.send()).action).toBe('DUNNO');
    });
  });

  describe('limit exceeded event', () => {
    const rig = useRig(factory);

    it('fires once per window, with what iRedAPD notified about', async () => {
      const r = rig();
      const id = await r.setting({
        account: '@example.net',
        kind: 'external',
        periodSeconds: PERIOD,
        maxMessages: 2,
      });
      const all = await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: PERIOD,
        maxMessageSizeBytes: 5000,
      });
      await r.send({ recipient: '', recipient_count: 2 });
      for (let i = 0; i < 3; i++) expect(textOf(await r.send({ size: 700 }))).toBe(QUOTA);
      await r.policy.close();
      expect(r.events).toEqual([
        {
          rule: 'max_msgs',
          limit: 2,
          kind: 'external',
          account: '@example.net',
          settingId: id,
          periodSeconds: PERIOD,
          user: 'sender@example.net',
          trackingAccount: 'sender@example.net',
          clientAddress: '192.0.2.10',
          counters: { messages: 2, bytes: 1000, windowStartAt: T0, lastNotifiedAt: 0 },
          message: { sizeBytes: 700, recipients: 1 },
          rules: [
            { rule: 'msg_size', limit: 5000, settingId: all, account: '@.' },
            { rule: 'max_msgs', limit: 2, settingId: id, account: '@example.net' },
          ],
          at: T0,
        },
      ]);
      expect(r.log.lines.filter((l) => l.message.includes('limit exceeded'))).toHaveLength(1);
      expect(r.log.lines.filter((l) => l.message.startsWith('throttle: rejected'))).toHaveLength(3);
    });

    it('fires again in the next window, and for the quota rule', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxQuotaBytes: 1000 });
      await r.send({ size: 1500 });
      await r.send();
      await r.send();
      r.clock.advance(s(PERIOD + 1));
      await r.send({ size: 1500 });
      await r.send();
      await r.policy.close();
      expect(r.events.map((e) => [e.rule, e.limit, e.counters.bytes, e.at])).toEqual([
        ['max_quota', 1000, 1500, T0],
        ['max_quota', 1000, 1500, T0 + s(PERIOD + 1)],
      ]);
    });

    it('logs a failing callback and keeps the decision', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 1 });
      await r.reconfigure({
        onLimitExceeded: () => {
          throw new Error('smtp down');
        },
      });
      await r.send();
      expect(await r.send()).toEqual(Decision.reject(QUOTA, 'throttle:external:max_msgs'));
      await r.reconfigure({ onLimitExceeded: async () => Promise.reject(new Error('async smtp down')) });
      r.clock.advance(s(PERIOD + 1));
      await r.send();
      expect((await r.send()).action).toBe('REJECT');
      await r.policy.close();
      const failures = r.log.lines.filter((l) => l.message === 'throttle: onLimitExceeded failed');
      expect(failures.map((l) => (l.fields.err as Error).message)).toEqual(['smtp down', 'async smtp down']);
    });

    it('does not wait for the callback before answering', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 1 });
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let delivered = false;
      await r.reconfigure({
        onLimitExceeded: async () => {
          await gate;
          delivered = true;
        },
      });
      await r.send();
      expect((await r.send()).action).toBe('REJECT');
      expect(delivered).toBe(false);
      const closing = r.policy.close();
      await Promise.resolve();
      release();
      await closing;
      expect(delivered).toBe(true);
    });
  });

  describe('sliding windows', () => {
    const rig = useRig(factory, { algorithm: 'sliding' });

    it('limits a burst that straddles a window boundary', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 10 });
      r.clock.advance(s(90));
      expect((await r.send({ recipient: '', recipient_count: 10 })).action).toBe('DUNNO');
      // Fixed windows would admit 10 more at +100 s: the first window ended. Sliding, they all still count.
      r.clock.set(T0 + s(190));
      expect((await r.send()).action).toBe('REJECT');
      // Half-way through the next window, half of them count.
      r.clock.set(T0 + s(240));
      expect((await r.send({ recipient: '', recipient_count: 5 })).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('REJECT');
      r.clock.set(T0 + s(90 + 3 * PERIOD));
      expect((await r.send({ recipient: '', recipient_count: 10 })).action).toBe('DUNNO');
    });

    it('fires the event once per window', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxMessages: 1 });
      await r.send();
      await r.send();
      await r.send();
      await r.policy.close();
      expect(r.events.map((e) => [e.rule, e.counters.previousMessages])).toEqual([['max_msgs', 0]]);
    });
  });

  describe('strict quota', () => {
    const rig = useRig(factory, { strictQuota: true });

    it('rejects the message that would cross the quota', async () => {
      const r = rig();
      await r.setting({ account: '@.', kind: 'external', periodSeconds: PERIOD, maxQuotaBytes: 2500 });
      expect((await r.send({ size: 2000 })).action).toBe('DUNNO');
      expect((await r.send({ size: 1000 })).reason).toBe('throttle:external:max_quota');
      expect((await r.send({ size: 500 })).action).toBe('DUNNO');
    });
  });

  describe('dry run', () => {
    const rig = useRig(factory, { dryRun: { kinds: ['external'], accounts: ['USER@example.com'] } });

    it('logs what a dry-run setting would reject, answers DUNNO and keeps counting', async () => {
      const r = rig();
      await r.setting({
        account: '@.',
        kind: 'external',
        periodSeconds: PERIOD,
        maxMessages: 1,
        maxMessageSizeBytes: 500,
      });
      for (let i = 0; i < 3; i++) expect((await r.send()).action).toBe('DUNNO');
      const dry = r.log.lines.filter((l) => l.fields.dryRun === true);
      expect(dry.map((l) => l.fields.rule)).toEqual([
        'msg_size',
        'msg_size',
        'max_msgs',
        'msg_size',
        'max_msgs',
      ]);
      expect(dry[2]?.message).toBe('throttle: dry run, would reject: external max_msgs of @. exceeded');
      const counters = await r.backend.throttle.listCounters({ trackingAccount: 'sender@example.net' });
      expect(counters.map((c) => c.messages)).toEqual([3]);
      await r.policy.close();
      expect(r.events).toEqual([]);
    });

    it('applies to listed accounts of any kind; other settings still reject', async () => {
      const r = rig();
      await r.setting({
        account: 'user@example.com',
        kind: 'inbound',
        periodSeconds: PERIOD,
        maxMessages: 1,
      });
      await r.setting({ account: '@example.com', kind: 'inbound', periodSeconds: PERIOD, maxRecipients: 1 });
      expect((await r.send()).action).toBe('DUNNO');
      expect((await r.send()).action).toBe('DUNNO');
      expect(r.log.lines.filter((l) => l.fields.dryRun === true).map((l) => l.fields.rule)).toEqual([
        'max_msgs',
      ]);
      expect((await r.send({ recipient: 'other@example.com' })).action).toBe('DUNNO');
      await r.backend.throttle.setSetting({
        account: '@example.com',
        kind: 'inbound',
        periodSeconds: PERIOD,
        maxMessageSizeBytes: 10,
      });
      expect(textOf(await r.send({ recipient: 'other@example.com' }))).toBe('Message size is too large');
    });
  });
}
