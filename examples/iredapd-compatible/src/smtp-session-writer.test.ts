import {
  createMemorySmtpSessionLog,
  isPolicydError,
  type Logger,
  type SmtpSessionLog,
  type SmtpSessionRow,
} from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { createSmtpSessionWriter } from './smtp-session-writer.ts';

function recorder(): Logger & { readonly lines: { level: string; msg: string; fields: object }[] } {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at = (level: string) => (a: object | string, b?: string) =>
    lines.push(typeof a === 'string' ? { level, msg: a, fields: {} } : { level, msg: b ?? '', fields: a });
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return Object.assign(logger, { lines });
}

function row(instance: string): SmtpSessionRow {
  return {
    time: Date.UTC(2026, 0, 1),
    action: 'REJECT',
    reason: 'x',
    instance,
    clientAddress: '',
    clientName: '',
    reverseClientName: '',
    heloName: '',
    sender: '',
    senderDomain: '',
    saslUsername: '',
    saslDomain: '',
    recipient: '',
    recipientDomain: '',
    encryptionProtocol: '',
    encryptionCipher: '',
    serverAddress: '',
    serverPort: '',
  };
}

// A log whose batches wait until the test settles them, one by one, in the order they started.
function controlledLog() {
  const inner = createMemorySmtpSessionLog();
  const calls: { rows: readonly SmtpSessionRow[]; resolve: () => void; reject: (err: Error) => void }[] = [];
  let settled = 0;
  const log: SmtpSessionLog = {
    record: (r) => log.recordMany([r]),
    recordMany(rows) {
      const copy = [...rows];
      return new Promise<void>((resolve, reject) => {
        calls.push({
          rows: copy,
          resolve: () => resolve(inner.recordMany(copy)),
          reject,
        });
      });
    },
    cleanup: (o) => inner.cleanup(o),
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return {
    log,
    inner,
    /** Sizes of the batches started so far. */
    sizes: () => calls.map((c) => c.rows.length),
    /** Instances of each batch started so far. */
    batches: () => calls.map((c) => c.rows.map((r) => r.instance)),
    /** Settle the oldest unsettled batch, then let the writer react. */
    async settle(err?: Error) {
      const call = calls[settled++];
      if (call === undefined) throw new Error('no batch in flight');
      if (err === undefined) call.resolve();
      else call.reject(err);
      await tick();
    },
    /** Settle every batch, including those started meanwhile. */
    async settleAll() {
      while (settled < calls.length) await this.settle();
    },
  };
}

const errors = (logger: ReturnType<typeof recorder>) => logger.lines.filter((l) => l.level === 'error');

describe('createSmtpSessionWriter', () => {
  it('writes a row at once, alone, when a slot is free: no timer, no added latency', async () => {
    const c = controlledLog();
    const writer = createSmtpSessionWriter(c.log, { logger: recorder() });
    writer.write(row('r0'));
    expect(c.batches()).toEqual([['r0']]); // synchronously, within write()
    expect(writer.pending).toBe(1);
    await c.settleAll();
    expect(writer.pending).toBe(0);
    expect(c.inner.rows().map((r) => r.instance)).toEqual(['r0']);
  });

  it('coalesces the rows written while every slot is busy into one batch', async () => {
    const c = controlledLog();
    const writer = createSmtpSessionWriter(c.log, { logger: recorder() }); // 2 slots by default
    for (let i = 0; i < 10; i++) writer.write(row(`r${i}`));
    expect(c.sizes()).toEqual([1, 1]);
    expect(writer.pending).toBe(10);
    await c.settle();
    expect(c.batches()[2]).toEqual(['r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
    writer.write(row('r10')); // both slots busy again: waits for the next batch
    expect(c.sizes()).toEqual([1, 1, 8]);
    await c.settle();
    expect(c.sizes()).toEqual([1, 1, 8, 1]);
    await c.settleAll();
    expect(c.inner.rows().map((r) => r.instance)).toEqual(Array.from({ length: 11 }, (_, i) => `r${i}`));
    expect(writer.pending).toBe(0);
  });

  it('takes at most maxBatch rows per batch and runs at most maxConcurrent batches', async () => {
    const c = controlledLog();
    const writer = createSmtpSessionWriter(c.log, { logger: recorder(), maxConcurrent: 1, maxBatch: 3 });
    for (let i = 0; i < 8; i++) writer.write(row(`r${i}`));
    expect(c.sizes()).toEqual([1]);
    await c.settle();
    expect(c.sizes()).toEqual([1, 3]);
    await c.settleAll();
    expect(c.sizes()).toEqual([1, 3, 3, 1]);
    expect(c.inner.rows().map((r) => r.instance)).toEqual(Array.from({ length: 8 }, (_, i) => `r${i}`));
  });

  it('drain waits for every batch, including those queued behind the ones in flight', async () => {
    const c = controlledLog();
    const writer = createSmtpSessionWriter(c.log, { logger: recorder(), maxConcurrent: 1 });
    for (let i = 0; i < 4; i++) writer.write(row(`r${i}`));
    let drained = false;
    const draining = writer.drain().then(() => {
      drained = true;
    });
    await c.settle(); // [r0]; [r1 r2 r3] starts
    expect(drained).toBe(false);
    expect(writer.pending).toBe(3);
    await c.settle();
    await draining;
    expect(drained).toBe(true);
    expect(c.inner.rows()).toHaveLength(4);
    await writer.drain(); // idle: resolves at once
  });

  it('logs one error per failed batch with the number of rows lost, counts them, and goes on', async () => {
    const c = controlledLog();
    const logger = recorder();
    const writer = createSmtpSessionWriter(c.log, { logger, maxConcurrent: 1 });
    for (let i = 0; i < 4; i++) writer.write(row(`r${i}`));
    await c.settle(); // [r0] written; [r1 r2 r3] starts
    await c.settle(new Error('Data too long for column reason'));
    writer.write(row('r4'));
    await c.settle(new Error('Connection lost'));
    writer.write(row('r5'));
    await c.settleAll();
    expect(c.sizes()).toEqual([1, 3, 1, 1]);
    expect(c.inner.rows().map((r) => r.instance)).toEqual(['r0', 'r5']);
    expect(writer.failed).toBe(4);
    expect(writer.pending).toBe(0);
    expect(errors(logger).map((l) => [l.msg, (l.fields as { lost?: number }).lost])).toEqual([
      ['<!> Error while logging smtp action: Error: Data too long for column reason (3 rows lost)', 3],
      ['<!> Error while logging smtp action: Error: Connection lost (1 row lost)', 1],
    ]);
  });

  it('treats a log that throws instead of rejecting as a failed batch', async () => {
    const logger = recorder();
    const log: SmtpSessionLog = {
      record: () => Promise.resolve(),
      recordMany: () => {
        throw new Error('not connected');
      },
      cleanup: () => Promise.resolve({ deleted: 0, batches: 0, more: false }),
    };
    const writer = createSmtpSessionWriter(log, { logger });
    writer.write(row('r0'));
    await writer.drain();
    expect(writer.failed).toBe(1);
    expect(errors(logger).map((l) => l.msg)).toEqual([
      '<!> Error while logging smtp action: Error: not connected (1 row lost)',
    ]);
  });

  it('drops rows beyond the queue, warns once per episode, and says when it has drained', async () => {
    const c = controlledLog();
    const logger = recorder();
    const writer = createSmtpSessionWriter(c.log, { logger, maxConcurrent: 1, maxQueued: 2 });
    for (let i = 0; i < 6; i++) writer.write(row(`r${i}`));
    expect(writer.dropped).toBe(3);
    expect(writer.pending).toBe(3);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    const drained = writer.drain();
    await c.settleAll();
    await drained;
    expect(c.sizes()).toEqual([1, 2]);
    expect(c.inner.rows().map((r) => r.instance)).toEqual(['r0', 'r1', 'r2']);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => [l.msg, l.fields])).toEqual([
      [
        'smtp_sessions: the database does not keep up, dropping rows until the queue drains',
        { maxQueued: 2 },
      ],
      ['smtp_sessions: the queue has drained again', { dropped: 3 }],
    ]);
    // A new episode warns again.
    for (let i = 0; i < 4; i++) writer.write(row(`s${i}`));
    expect(writer.dropped).toBe(4);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(3);
    await c.settleAll();
  });

  it('writes every row to a real log, in order', async () => {
    const log = createMemorySmtpSessionLog();
    const writer = createSmtpSessionWriter(log, { logger: recorder(), maxBatch: 7 });
    for (let i = 0; i < 100; i++) writer.write(row(`r${i}`));
    await writer.drain();
    expect(log.rows().map((r) => r.instance)).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
  });

  it('refuses limits below 1', () => {
    for (const bad of [{ maxConcurrent: 0 }, { maxBatch: 0 }, { maxQueued: -1 }, { maxBatch: 1.5 }]) {
      let error: unknown;
      try {
        createSmtpSessionWriter(createMemorySmtpSessionLog(), { logger: recorder(), ...bad });
      } catch (err) {
        error = err;
      }
      expect(isPolicydError(error, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    }
  });

  it('drains at once when idle', async () => {
    await createSmtpSessionWriter(createMemorySmtpSessionLog(), { logger: recorder() }).drain();
  });
});
