/**
 * Conformance suite for {@link SmtpSessionLog} implementations.
 */

import { describe, expect, it } from 'vitest';
import { SMTP_SESSION_FIELD_LENGTHS, type SmtpSessionLog, type SmtpSessionRow } from '../smtp-session-log.ts';
import {
  expectPolicydError,
  type HarnessFactory,
  type StoreHarness,
  seconds,
  T0,
  useHarness,
} from './harness.ts';

/** A request log under test, whose rows can be read back (oldest first, `time` in whole seconds). */
export interface SmtpSessionLogHarness extends StoreHarness<SmtpSessionLog> {
  /** Every row of the table, in insertion order. */
  rows(): Promise<readonly SmtpSessionRow[]>;
}

const DAY = 86_400_000;

function row(overrides: Partial<SmtpSessionRow> = {}): SmtpSessionRow {
  return {
    time: T0,
    action: 'REJECT',
    reason: 'Blacklisted',
    instance: '1a2b.3c4d5e6f.12345.0',
    clientAddress: '192.0.2.10',
    clientName: 'mail.example.net',
    reverseClientName: 'mail.example.net',
    heloName: 'mail.example.net',
    sender: 'sender@example.net',
    senderDomain: 'example.net',
    saslUsername: '',
    saslDomain: '',
    recipient: 'user@example.com',
    recipientDomain: 'example.com',
    encryptionProtocol: 'TLSv1.3',
    encryptionCipher: 'TLS_AES_256_GCM_SHA384',
    serverAddress: '192.0.2.1',
    serverPort: '25',
    ...overrides,
  };
}

/**
 * Register the request log conformance tests (vitest) for one implementation.
 *
 * @example
 * ```ts
 * describeSmtpSessionLogConformance('memory', async () => {
 *   const store = createMemorySmtpSessionLog();
 *   return { store, rows: async () => store.rows(), close: async () => {} };
 * });
 * ```
 */
export function describeSmtpSessionLogConformance(
  name: string,
  factory: HarnessFactory<SmtpSessionLogHarness>,
): void {
  describe(`SmtpSessionLog conformance: ${name}`, () => {
    const h = useHarness(factory);

    it('stores every field as given, the time in whole seconds', async () => {
      await h().store.record(row({ time: T0 + 1_789 }));
      await h().store.record(
        row({ action: 'DUNNO', reason: '', sender: '', senderDomain: '', saslUsername: 'a@example.com' }),
      );
      expect(await h().rows()).toEqual([
        row({ time: T0 + 1_000 }),
        row({ action: 'DUNNO', reason: '', sender: '', senderDomain: '', saslUsername: 'a@example.com' }),
      ]);
    });

    it('keeps empty values and non-ASCII text', async () => {
      const empty = Object.fromEntries(Object.keys(SMTP_SESSION_FIELD_LENGTHS).map((k) => [k, ''])) as Omit<
        SmtpSessionRow,
        'time'
      >;
      await h().store.record({ ...empty, time: T0 });
      await h().store.record(row({ reason: 'Zurückgewiesen – 拒否 😀', heloName: 'überall.example' }));
      const rows = await h().rows();
      expect(rows[0]).toEqual({ ...empty, time: T0 });
      expect(rows[1]).toMatchObject({ reason: 'Zurückgewiesen – 拒否 😀', heloName: 'überall.example' });
    });

    it('cuts over-long values to the column widths instead of failing', async () => {
      const long = 'x'.repeat(300);
      await h().store.record(
        row({ reason: `${'é'.repeat(149)}😀😀`, sender: long, serverPort: '123456789012', action: long }),
      );
      const [stored] = await h().rows();
      expect(stored?.reason).toBe(`${'é'.repeat(149)}😀`);
      expect(stored?.sender).toBe('x'.repeat(SMTP_SESSION_FIELD_LENGTHS.sender));
      expect(stored?.serverPort).toBe('1234567890');
      expect(stored?.action).toBe('x'.repeat(SMTP_SESSION_FIELD_LENGTHS.action));
    });

    it('rejects a malformed row and writes nothing', async () => {
      await expectPolicydError(h().store.record(row({ time: -1 })), 'POLICYD_ERR_INVALID_OPTION', -1);
      await expectPolicydError(
        h().store.record(row({ time: Number.NaN })),
        'POLICYD_ERR_INVALID_OPTION',
        Number.NaN,
      );
      await expectPolicydError(
        h().store.record({ ...row(), reason: 42 } as unknown as SmtpSessionRow),
        'POLICYD_ERR_INVALID_OPTION',
        42,
      );
      expect(await h().rows()).toEqual([]);
    });

    it('recordMany stores the rows in order, each exactly as record stores it', async () => {
      const batch = [
        row({ instance: 'a', time: T0 + 1_789 }),
        row({ instance: 'b', action: 'DUNNO', reason: '', reverseClientName: 'überall.example' }),
        row({ instance: 'c', reason: `${'é'.repeat(149)}😀😀`, sender: 'x'.repeat(300) }),
        row({ instance: 'd', time: T0 + seconds(2) }),
      ];
      await h().store.recordMany(batch);
      for (const r of batch) await h().store.record(r);
      const rows = await h().rows();
      expect(rows.map((r) => r.instance)).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
      expect(rows.slice(0, 4)).toEqual(rows.slice(4));
      expect(rows[0]).toEqual(row({ instance: 'a', time: T0 + 1_000 }));
      expect(rows[2]?.reason).toBe(`${'é'.repeat(149)}😀`);
      expect(rows[2]?.sender).toBe('x'.repeat(SMTP_SESSION_FIELD_LENGTHS.sender));
    });

    it('recordMany rejects the whole batch when one row is malformed, writing none of it', async () => {
      await expectPolicydError(
        h().store.recordMany([row({ instance: 'ok1' }), row({ time: -1 }), row({ instance: 'ok2' })]),
        'POLICYD_ERR_INVALID_OPTION',
        -1,
      );
      await expectPolicydError(
        h().store.recordMany([row(), { ...row(), sender: null } as unknown as SmtpSessionRow]),
        'POLICYD_ERR_INVALID_OPTION',
        null,
      );
      await expectPolicydError(
        h().store.recordMany(row() as unknown as SmtpSessionRow[]),
        'POLICYD_ERR_INVALID_OPTION',
      );
      expect(await h().rows()).toEqual([]);
    });

    it('recordMany accepts an empty batch and writes nothing', async () => {
      await h().store.recordMany([]);
      expect(await h().rows()).toEqual([]);
    });

    it('stores concurrent batches and records, none lost', async () => {
      await Promise.all([
        h().store.recordMany(Array.from({ length: 10 }, (_, i) => row({ instance: `m${i}` }))),
        h().store.record(row({ instance: 'r' })),
        h().store.recordMany(Array.from({ length: 10 }, (_, i) => row({ instance: `n${i}` }))),
      ]);
      const instances = (await h().rows()).map((r) => r.instance);
      expect(instances).toHaveLength(21);
      // Each batch keeps its own order, whatever runs in between.
      expect(instances.filter((i) => i.startsWith('m'))).toEqual(
        Array.from({ length: 10 }, (_, i) => `m${i}`),
      );
      expect(instances.filter((i) => i.startsWith('n'))).toEqual(
        Array.from({ length: 10 }, (_, i) => `n${i}`),
      );
    });

    it('stores concurrent records, none lost', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          h().store.record(row({ instance: `i${i}`, time: T0 + seconds(i) })),
        ),
      );
      const rows = await h().rows();
      expect(rows.map((r) => r.instance).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `i${i}`).sort(),
      );
    });

    it('deletes only the rows strictly older than now − olderThanMs', async () => {
      const now = T0 + 10 * DAY;
      await h().store.record(row({ instance: 'old', time: now - 7 * DAY - seconds(1) }));
      await h().store.record(row({ instance: 'edge', time: now - 7 * DAY }));
      await h().store.record(row({ instance: 'new', time: now - seconds(5) }));
      const result = await h().store.cleanup({ now, olderThanMs: 7 * DAY });
      expect(result).toEqual({ deleted: 1, batches: 1, more: false });
      expect((await h().rows()).map((r) => r.instance)).toEqual(['edge', 'new']);
    });

    it('counts whole seconds: a fraction of the cut-off never deletes the row on the boundary', async () => {
      const now = T0 + DAY + 999;
      await h().store.record(row({ instance: 'edge', time: T0 }));
      expect(await h().store.cleanup({ now, olderThanMs: DAY + 999 })).toMatchObject({ deleted: 0 });
      expect(await h().store.cleanup({ now: now + 1, olderThanMs: DAY - 1 })).toMatchObject({ deleted: 1 });
      expect(await h().rows()).toEqual([]);
    });

    it('deletes in batches and stops at maxBatches, saying more remain', async () => {
      for (let i = 0; i < 5; i++) await h().store.record(row({ instance: `i${i}`, time: T0 + seconds(i) }));
      const now = T0 + 2 * DAY;
      expect(await h().store.cleanup({ now, olderThanMs: DAY, batchSize: 2, maxBatches: 2 })).toEqual({
        deleted: 4,
        batches: 2,
        more: true,
      });
      expect(await h().rows()).toHaveLength(1);
      expect(await h().store.cleanup({ now, olderThanMs: DAY, batchSize: 2 })).toEqual({
        deleted: 1,
        batches: 1,
        more: false,
      });
      expect(await h().store.cleanup({ now, olderThanMs: DAY })).toEqual({
        deleted: 0,
        batches: 1,
        more: false,
      });
    });

    it('rejects bad cleanup options before deleting anything', async () => {
      await h().store.record(row({ time: T0 }));
      const now = T0 + 30 * DAY;
      await expectPolicydError(h().store.cleanup({ now, olderThanMs: -1 }), 'POLICYD_ERR_INVALID_OPTION', -1);
      await expectPolicydError(
        h().store.cleanup({ now, olderThanMs: DAY, batchSize: 0 }),
        'POLICYD_ERR_INVALID_OPTION',
        0,
      );
      await expectPolicydError(
        h().store.cleanup({ now: -5, olderThanMs: DAY }),
        'POLICYD_ERR_INVALID_OPTION',
        -5,
      );
      expect(await h().rows()).toHaveLength(1);
    });
  });
}
