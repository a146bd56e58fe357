/**
 * Greylisting conformance, decision path: context loading, the tracking state machine, refresh, cleanup.
 */

import { describe, expect, it } from 'vitest';
import type { GreylistAttemptTimes, GreylistStore, GreylistTriplet } from '../greylist-store.ts';
import type { GreylistSeed } from '../seed.ts';
import { expectPolicydError, type SeedableStoreHarness, seconds, T0 } from './harness.ts';

const BLOCK = seconds(15 * 60);
const UNAUTH = seconds(86_400);
const AUTH = seconds(30 * 86_400);

/** iRedAPD's default expiries (15 minutes, 1 day, 30 days) from `now`. */
const times = (now: number): GreylistAttemptTimes => ({
  now,
  blockExpiresAt: now + BLOCK,
  unauthExpiresAt: now + UNAUTH,
  authExpiresAt: now + AUTH,
});

const triplet = (
  sender: string,
  clientKey = '192.0.2.10',
  recipient = 'user@example.com',
): GreylistTriplet => ({
  sender,
  senderDomain: sender.slice(sender.indexOf('@') + 1),
  recipient,
  recipientDomain: recipient.slice(recipient.indexOf('@') + 1),
  clientKey,
});

const query = (over: Partial<Parameters<GreylistStore['loadContext']>[0]> = {}) => ({
  recipients: ['user@example.com', '@example.com', '@.'],
  senders: ['sender@example.net', '@example.net', '@.', '@.example.net', '@.net', '192.0.2.10', '192.0.2.*'],
  clientAddress: '192.0.2.10',
  clientKey: '192.0.2.10',
  now: T0,
  ...over,
});

/**
 * Register the decision-path tests of the greylisting conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeGreylistTracking(h: () => SeedableStoreHarness<GreylistStore, GreylistSeed>): void {
  describe('loadContext', () => {
    it('answers an empty store with nothing', async () => {
      expect(await h().store.loadContext(query())).toEqual({
        whitelist: [],
        settings: [],
        passedTriplets: 0,
      });
    });

    it('matches whitelist senders lower-cased, the client IP and wildcard forms, for the recipients only', async () => {
      await h().seed({
        whitelists: [
          { account: '@.', sender: '@Example.NET', source: 'manual' },
          { account: 'user@example.com', sender: 'sender@example.net', source: 'manual' },
          { account: '@example.com', sender: '192.0.2.10', source: 'manual' },
          { account: '@.', sender: '192.0.2.*', source: 'spf' },
          { account: 'other@example.com', sender: '@.', source: 'manual' },
          { account: '@.', sender: 'someone@example.net', source: 'manual' },
          { account: '@.', sender: '198.51.100.1', source: 'manual' },
        ],
      });
      const context = await h().store.loadContext(query());
      expect(context.whitelist).toEqual([
        { account: '@.', sender: '@Example.NET', source: 'manual', byNetwork: false },
        { account: '@example.com', sender: '192.0.2.10', source: 'manual', byNetwork: false },
        { account: 'user@example.com', sender: 'sender@example.net', source: 'manual', byNetwork: false },
        { account: '@.', sender: '192.0.2.*', source: 'spf', byNetwork: false },
      ]);
    });

    it('matches whitelist networks containing the client, IPv4 and IPv6, any prefix, strict only', async () => {
      const rows = [
        '192.0.2.0/24',
        '128.0.0.0/1',
        '192.0.2.1/24',
        '198.51.100.0/24',
        '2001:db8::/32',
        '2000::/4',
      ];
      await h().seed({
        whitelists: rows.map((sender) => ({ account: '@.', sender, source: 'spf' as const })),
      });
      const v4 = await h().store.loadContext(query());
      expect(v4.whitelist.map((w) => w.sender).sort()).toEqual(['128.0.0.0/1', '192.0.2.0/24']);
      expect(v4.whitelist.every((w) => w.byNetwork && w.source === 'spf')).toBe(true);
      const v6 = await h().store.loadContext(
        query({
          senders: ['@.', '2001:db8:5::1'],
          clientAddress: '2001:db8:5::1',
          clientKey: '2001:db8:5::1',
        }),
      );
      expect(v6.whitelist.map((w) => w.sender).sort()).toEqual(['2000::/4', '2001:db8::/32']);
      const none = await h().store.loadContext(query({ clientAddress: '' }));
      expect(none.whitelist).toEqual([]);
    });

    it('returns every setting of the recipients in precedence order', async () => {
      await h().seed({
        settings: [
          { account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: 1 },
          { account: '@example.com', priority: 60, sender: '@.', senderPriority: 0, active: 0 },
          { account: '@example.com', priority: 60, sender: '192.0.2.0/24', senderPriority: 70, active: 1 },
          { account: 'user@example.com', priority: 100, sender: '@gmail.com', senderPriority: 60, active: 2 },
          {
            account: '@alias.test',
            priority: 60,
            sender: '@.',
            senderPriority: 0,
            active: 1,
            comment: 'tie',
          },
          { account: 'other@example.com', priority: 100, sender: '@.', senderPriority: 0, active: 1 },
        ],
      });
      const context = await h().store.loadContext(
        query({ recipients: ['user@example.com', '@example.com', '@.', '@alias.test'] }),
      );
      expect(context.settings).toEqual([
        {
          account: 'user@example.com',
          priority: 100,
          sender: '@gmail.com',
          senderPriority: 60,
          active: false,
          comment: '',
        },
        {
          account: '@example.com',
          priority: 60,
          sender: '192.0.2.0/24',
          senderPriority: 70,
          active: true,
          comment: '',
        },
        {
          account: '@alias.test',
          priority: 60,
          sender: '@.',
          senderPriority: 0,
          active: true,
          comment: 'tie',
        },
        {
          account: '@example.com',
          priority: 60,
          sender: '@.',
          senderPriority: 0,
          active: false,
          comment: '',
        },
        { account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: true, comment: '' },
      ]);
    });

    it('counts the passed, unexpired triplets of the client key', async () => {
      const store = h().store;
      for (const sender of ['a@example.net', 'b@example.net']) {
        await store.recordAttempt(triplet(sender), times(T0));
      }
      await store.recordAttempt(triplet('c@example.net', '198.51.100.1'), times(T0));
      expect((await store.loadContext(query())).passedTriplets).toBe(0);
      const pass = await store.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK));
      expect(pass.outcome).toBe('passed');
      expect((await store.loadContext(query({ now: T0 + BLOCK }))).passedTriplets).toBe(1);
      expect((await store.loadContext(query({ clientKey: '198.51.100.1' }))).passedTriplets).toBe(0);
      const expiry = T0 + BLOCK + AUTH;
      expect((await store.loadContext(query({ now: expiry }))).passedTriplets).toBe(1);
      expect((await store.loadContext(query({ now: expiry + 1000 }))).passedTriplets).toBe(0);
    });
  });

  describe('recordAttempt', () => {
    it('creates a pending row on the first attempt', async () => {
      const result = await h().store.recordAttempt(triplet('sender@example.net'), times(T0));
      expect(result).toEqual({
        outcome: 'new',
        triplet: {
          ...triplet('sender@example.net'),
          firstSeenAt: T0,
          blockExpiresAt: T0 + BLOCK,
          recordExpiresAt: T0 + UNAUTH,
          blockedCount: 1,
          passed: false,
        },
      });
      expect(await h().store.findTriplets('192.0.2.10')).toEqual([result.triplet]);
    });

    it('counts early retries without extending the block', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('s@example.net'), times(T0));
      const early = await store.recordAttempt(triplet('s@example.net'), times(T0 + BLOCK - 1000));
      expect(early.outcome).toBe('too-early');
      expect(early.triplet).toMatchObject({ blockedCount: 2, blockExpiresAt: T0 + BLOCK, firstSeenAt: T0 });
    });

    it('passes a retry at exactly the block expiry, extends the record, deletes the client’s pending rows', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('a@example.net'), times(T0));
      await store.recordAttempt(triplet('b@example.net'), times(T0));
      await store.recordAttempt(triplet('c@example.net', '198.51.100.1'), times(T0));
      const now = T0 + BLOCK;
      const pass = await store.recordAttempt(triplet('a@example.net'), times(now));
      expect(pass.outcome).toBe('passed');
      expect(pass.triplet).toMatchObject({ passed: true, recordExpiresAt: now + AUTH, blockedCount: 1 });
      expect((await store.findTriplets('192.0.2.10')).map((t) => t.sender)).toEqual(['a@example.net']);
      expect(await store.findTriplets('198.51.100.1')).toHaveLength(1);
    });

    it('keeps other passed rows of the client when one passes', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('a@example.net'), times(T0));
      await store.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK));
      await store.recordAttempt(triplet('b@example.net'), times(T0 + BLOCK));
      await store.recordAttempt(triplet('b@example.net'), times(T0 + 2 * BLOCK));
      expect((await store.findTriplets('192.0.2.10')).map((t) => [t.sender, t.passed])).toEqual([
        ['a@example.net', true],
        ['b@example.net', true],
      ]);
    });

    it('reports a passed triplet seen again as still-passed and keeps the later expiry', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('a@example.net'), times(T0));
      await store.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK));
      const again = await store.recordAttempt(triplet('a@example.net'), times(T0 + 2 * BLOCK));
      expect(again.outcome).toBe('still-passed');
      expect(again.triplet.recordExpiresAt).toBe(T0 + 2 * BLOCK + AUTH);
      const short = { ...times(T0 + 3 * BLOCK), authExpiresAt: T0 + 3 * BLOCK + 1000 };
      const kept = await store.recordAttempt(triplet('a@example.net'), short);
      expect(kept.outcome).toBe('still-passed');
      expect(kept.triplet.recordExpiresAt).toBe(T0 + 2 * BLOCK + AUTH);
    });

    it('restarts a row only strictly after its record expiry, clearing passed', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('a@example.net'), times(T0));
      const atExpiry = await store.recordAttempt(triplet('a@example.net'), times(T0 + UNAUTH));
      expect(atExpiry.outcome).toBe('passed');
      const expired = atExpiry.triplet.recordExpiresAt + 1000;
      const restarted = await store.recordAttempt(
        { ...triplet('a@example.net'), senderDomain: 'changed.test' },
        times(expired),
      );
      expect(restarted).toEqual({
        outcome: 'restarted',
        triplet: {
          ...triplet('a@example.net'),
          firstSeenAt: expired,
          blockExpiresAt: expired + BLOCK,
          recordExpiresAt: expired + UNAUTH,
          blockedCount: 1,
          passed: false,
        },
      });
    });

    it('stores whole seconds, rounding down', async () => {
      const result = await h().store.recordAttempt(triplet('a@example.net'), times(T0 + 1999));
      expect(result.triplet).toMatchObject({
        firstSeenAt: T0 + 1000,
        blockExpiresAt: T0 + 1000 + BLOCK,
        recordExpiresAt: T0 + 1000 + UNAUTH,
      });
    });

    it('creates exactly one row for 20 concurrent first attempts', async () => {
      const store = h().store;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.recordAttempt(triplet('burst@example.net'), times(T0))),
      );
      expect(results.filter((r) => r.outcome === 'new')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'too-early')).toHaveLength(19);
      const rows = await store.findTriplets('192.0.2.10');
      expect(rows).toHaveLength(1);
      expect(rows[0]?.blockedCount).toBe(20);
    });

    it('rejects malformed triplets and times', async () => {
      const store = h().store;
      await expectPolicydError(
        store.recordAttempt(triplet('a@x.test', ''), times(T0)),
        'POLICYD_ERR_INVALID_OPTION',
      );
      await expectPolicydError(
        store.recordAttempt(triplet('a@x.test'), { ...times(T0), now: Number.NaN }),
        'POLICYD_ERR_INVALID_OPTION',
      );
      expect(await store.findTriplets('192.0.2.10')).toEqual([]);
    });
  });

  describe('the triplet in loadContext', () => {
    it('is null for a triplet without a row, the row once there is one, absent when not asked for', async () => {
      const store = h().store;
      const a = triplet('sender@example.net');
      expect((await store.loadContext(query({ triplet: a }))).triplet).toBeNull();
      const first = await store.recordAttempt(a, times(T0));
      expect((await store.loadContext(query({ triplet: a }))).triplet).toEqual(first.triplet);
      const early = await store.recordAttempt(a, times(T0 + 1000));
      expect((await store.loadContext(query({ triplet: a }))).triplet).toEqual(early.triplet);
      expect(await store.loadContext(query())).not.toHaveProperty('triplet');
      // Another recipient, sender or client key is another triplet.
      for (const other of [
        triplet('sender@example.net', '192.0.2.11'),
        triplet('other@example.net'),
        triplet('sender@example.net', '192.0.2.10', 'other@example.com'),
      ]) {
        expect((await store.loadContext(query({ triplet: other }))).triplet).toBeNull();
      }
    });

    it('is returned for an expired or passed row too, as stored', async () => {
      const store = h().store;
      const a = triplet('a@example.net');
      await store.recordAttempt(a, times(T0));
      const passed = await store.recordAttempt(a, times(T0 + BLOCK));
      const later = query({ triplet: a, now: T0 + 10 * AUTH });
      expect((await store.loadContext(later)).triplet).toEqual(passed.triplet);
    });

    it('comes with the rest of the context unchanged', async () => {
      const store = h().store;
      await h().seed({
        settings: [{ account: '@.', sender: '@.', priority: 0, senderPriority: 0, active: 1 }],
      });
      const a = triplet('sender@example.net');
      const plain = await store.loadContext(query());
      expect(await store.loadContext(query({ triplet: a }))).toEqual({ ...plain, triplet: null });
    });
  });

  describe('recordFirstAttempts', () => {
    it('creates the rows recordAttempt creates for a new triplet', async () => {
      const store = h().store;
      const result = await store.recordFirstAttempts([
        { triplet: triplet('a@example.net'), times: times(T0 + 1999) },
        { triplet: triplet('b@example.net', '2001:db8::/64'), times: times(T0) },
      ]);
      expect(result).toEqual({ inserted: 2, unstorable: [] });
      const reference = await h().store.recordAttempt(triplet('c@example.net'), times(T0 + 1999));
      const [a] = await store.findTriplets('192.0.2.10');
      expect(a).toEqual({ ...reference.triplet, sender: 'a@example.net', senderDomain: 'example.net' });
      expect(await store.findTriplets('2001:db8::/64')).toEqual([
        {
          ...triplet('b@example.net', '2001:db8::/64'),
          firstSeenAt: T0,
          blockExpiresAt: T0 + BLOCK,
          recordExpiresAt: T0 + UNAUTH,
          blockedCount: 1,
          passed: false,
        },
      ]);
      // The next attempt continues from the row like any other.
      const retry = await store.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK + 1000));
      expect(retry.outcome).toBe('passed');
    });

    it('leaves existing rows as they are and inserts a triplet given twice once', async () => {
      const store = h().store;
      const a = triplet('a@example.net');
      await store.recordAttempt(a, times(T0));
      const passed = await store.recordAttempt(a, times(T0 + BLOCK));
      const b = triplet('b@example.net');
      const result = await store.recordFirstAttempts([
        { triplet: a, times: times(T0 + 2 * BLOCK) },
        { triplet: b, times: times(T0) },
        { triplet: b, times: times(T0 + 5000) },
      ]);
      expect(result).toEqual({ inserted: 1, unstorable: [] });
      const rows = await store.findTriplets('192.0.2.10');
      expect(rows).toEqual([
        passed.triplet,
        expect.objectContaining({ sender: 'b@example.net', firstSeenAt: T0, blockedCount: 1 }),
      ]);
    });

    it('accepts an empty list', async () => {
      expect(await h().store.recordFirstAttempts([])).toEqual({ inserted: 0, unstorable: [] });
    });

    it('leaves out triplets whose values do not fit their columns, and stores the rest', async () => {
      const store = h().store;
      const long = triplet(`${'x'.repeat(250)}@example.net`);
      const wideClient = triplet('a@example.net', `2001:db8:${'0:'.repeat(20)}1`);
      // 255 characters of four UTF-8 bytes each fit: widths count characters.
      const fits = triplet(`${'😀'.repeat(243)}@example.net`);
      const result = await store.recordFirstAttempts([
        { triplet: long, times: times(T0) },
        { triplet: triplet('ok@example.net'), times: times(T0) },
        { triplet: wideClient, times: times(T0) },
        { triplet: fits, times: times(T0) },
      ]);
      expect(result).toEqual({ inserted: 2, unstorable: [long, wideClient] });
      const rows = await store.findTriplets('192.0.2.10');
      expect(rows.map((r) => r.sender).sort()).toEqual([fits.sender, 'ok@example.net'].sort());
    });

    it('rejects a malformed triplet or time before writing anything', async () => {
      const store = h().store;
      await expectPolicydError(
        store.recordFirstAttempts([
          { triplet: triplet('a@example.net'), times: times(T0) },
          { triplet: triplet('b@example.net', ''), times: times(T0) },
        ]),
        'POLICYD_ERR_INVALID_OPTION',
      );
      await expectPolicydError(
        store.recordFirstAttempts([
          { triplet: triplet('a@example.net'), times: { ...times(T0), unauthExpiresAt: Number.NaN } },
        ]),
        'POLICYD_ERR_INVALID_OPTION',
      );
      expect(await store.findTriplets('192.0.2.10')).toEqual([]);
    });

    it('inserts hundreds of triplets in one call', async () => {
      const store = h().store;
      const attempts = Array.from({ length: 1201 }, (_, i) => ({
        triplet: triplet(`s${i}@example.net`, `198.51.100.${i % 7}`),
        times: times(T0),
      }));
      expect((await store.recordFirstAttempts(attempts)).inserted).toBe(1201);
      expect(await store.findTriplets('198.51.100.3')).toHaveLength(172);
    });
  });

  describe('refreshPassed', () => {
    it('sets the expiry of every passed row of the client, and only those', async () => {
      const store = h().store;
      await store.recordAttempt(triplet('a@example.net'), times(T0));
      await store.recordAttempt(triplet('a@example.net'), times(T0 + BLOCK));
      await store.recordAttempt(triplet('b@example.net'), times(T0 + BLOCK));
      await store.recordAttempt(triplet('c@example.net', '198.51.100.1'), times(T0));
      await store.recordAttempt(triplet('c@example.net', '198.51.100.1'), times(T0 + BLOCK));
      const later = T0 + 5 * BLOCK + AUTH;
      expect(await store.refreshPassed('192.0.2.10', later + 1500)).toBe(1);
      const rows = await store.findTriplets('192.0.2.10');
      expect(rows.map((t) => [t.sender, t.recordExpiresAt])).toEqual([
        ['a@example.net', later + 1000],
        ['b@example.net', T0 + BLOCK + UNAUTH],
      ]);
      expect((await store.findTriplets('198.51.100.1'))[0]?.recordExpiresAt).toBe(T0 + BLOCK + AUTH);
      expect(await store.refreshPassed('203.0.113.1', later)).toBe(0);
    });
  });

  describe('cleanup', () => {
    it('deletes rows strictly past their record expiry, in batches', async () => {
      const store = h().store;
      for (let i = 0; i < 25; i++) await store.recordAttempt(triplet(`s${i}@example.net`), times(T0));
      await store.recordAttempt(triplet('late@example.net', '198.51.100.1'), times(T0 + seconds(60)));
      const expiry = T0 + UNAUTH;
      expect(await store.cleanup({ now: expiry, batchSize: 10 })).toEqual({
        deleted: 0,
        batches: 1,
        more: false,
      });
      expect(await store.cleanup({ now: expiry + 1000, batchSize: 10, maxBatches: 2 })).toEqual({
        deleted: 20,
        batches: 2,
        more: true,
      });
      expect(await store.findTriplets('192.0.2.10')).toHaveLength(5);
      expect(await store.cleanup({ now: expiry + 1000, batchSize: 10 })).toEqual({
        deleted: 5,
        batches: 1,
        more: false,
      });
      expect(await store.findTriplets('192.0.2.10')).toEqual([]);
      expect(await store.findTriplets('198.51.100.1')).toHaveLength(1);
    });

    it('stops after a full last batch only when the batch limit is reached', async () => {
      const store = h().store;
      for (let i = 0; i < 4; i++) await store.recordAttempt(triplet(`s${i}@example.net`), times(T0));
      expect(await store.cleanup({ now: T0 + UNAUTH + 1000, batchSize: 2 })).toEqual({
        deleted: 4,
        batches: 3,
        more: false,
      });
    });

    it('rejects bad options', async () => {
      const store = h().store;
      await expectPolicydError(store.cleanup({ now: T0, batchSize: 0 }), 'POLICYD_ERR_INVALID_OPTION', 0);
      await expectPolicydError(
        store.cleanup({ now: T0, maxBatches: 1.5 }),
        'POLICYD_ERR_INVALID_OPTION',
        1.5,
      );
      await expectPolicydError(store.cleanup({ now: -1 }), 'POLICYD_ERR_INVALID_OPTION', -1);
    });
  });
}
