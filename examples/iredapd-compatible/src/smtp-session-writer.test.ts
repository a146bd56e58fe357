import {
  createMemorySmtpSessionLog,
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

// A log whose inserts wait until released, counting how many run at once.
function gatedLog() {
  const inner = createMemorySmtpSessionLog();
  const gates: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  const log: SmtpSessionLog = {
    async record(r) {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      if (r.instance === 'fail') throw new Error('Data too long for column reason');
      await inner.record(r);
    },
    cleanup: (o) => inner.cleanup(o),
  };
  const releaseAll = async () => {
    while (gates.length > 0 || running > 0) {
      for (const gate of gates.splice(0)) gate();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { log, inner, releaseAll, peak: () => peak };
}

describe('createSmtpSessionWriter', () => {
  it('returns at once, runs at most maxConcurrent inserts, and drains', async () => {
    const g = gatedLog();
    const writer = createSmtpSessionWriter(g.log, { logger: recorder(), maxConcurrent: 2 });
    for (let i = 0; i < 5; i++) writer.write(row(`r${i}`));
    expect(writer.pending).toBe(5);
    const drained = writer.drain();
    await g.releaseAll();
    await drained;
    expect(g.peak()).toBe(2);
    expect(g.inner.rows().map((r) => r.instance)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(writer.pending).toBe(0);
  });

  it('logs a failed insert and goes on', async () => {
    const g = gatedLog();
    const logger = recorder();
    const writer = createSmtpSessionWriter(g.log, { logger });
    writer.write(row('fail'));
    writer.write(row('ok'));
    const drained = writer.drain();
    await g.releaseAll();
    await drained;
    expect(g.inner.rows().map((r) => r.instance)).toEqual(['ok']);
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([
      '<!> Error while logging smtp action: Error: Data too long for column reason',
    ]);
  });

  it('drops rows beyond the queue, warns once per episode, and says when it has drained', async () => {
    const g = gatedLog();
    const logger = recorder();
    const writer = createSmtpSessionWriter(g.log, { logger, maxConcurrent: 1, maxQueued: 2 });
    for (let i = 0; i < 6; i++) writer.write(row(`r${i}`));
    expect(writer.dropped).toBe(3);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    const drained = writer.drain();
    await g.releaseAll();
    await drained;
    expect(g.inner.rows().map((r) => r.instance)).toEqual(['r0', 'r1', 'r2']);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => [l.msg, l.fields])).toEqual([
      [
        'smtp_sessions: the database does not keep up, dropping rows until the queue drains',
        { maxQueued: 2 },
      ],
      ['smtp_sessions: the queue has drained again', { dropped: 3 }],
    ]);
  });

  it('drains at once when idle', async () => {
    await createSmtpSessionWriter(createMemorySmtpSessionLog(), { logger: recorder() }).drain();
  });
});
