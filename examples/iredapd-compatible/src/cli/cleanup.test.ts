import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SmtpSessionRow } from '@policyd/core';
import type { KnexStorage } from '@policyd/storage-knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliSandbox, createCliSandbox } from './test-harness.ts';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const DAY = 86_400_000;
const now = () => NOW;

let box: CliSandbox;
beforeEach(async () => {
  box = await createCliSandbox();
});
afterEach(async () => {
  await box.dispose();
});

async function seedGreylisting(storage: KnexStorage, expired: number, current: number): Promise<void> {
  for (let i = 0; i < expired + current; i++) {
    const old = i < expired;
    const at = old ? NOW - 3 * DAY : NOW - 1000;
    await storage.greylist.recordAttempt(
      {
        sender: `s${i}@remote.example`,
        senderDomain: 'remote.example',
        recipient: 'user@example.com',
        recipientDomain: 'example.com',
        clientKey: `192.0.2.${i + 1}`,
      },
      { now: at, blockExpiresAt: at + 900_000, unauthExpiresAt: at + DAY, authExpiresAt: at + 30 * DAY },
    );
  }
}

async function seedThrottle(storage: KnexStorage, expired: number, current: number): Promise<void> {
  const setting = await storage.throttle.setSetting({ account: '@.', kind: 'outbound', periodSeconds: 3600 });
  for (let i = 0; i < expired + current; i++) {
    const at = i < expired ? NOW - 2 * 3600_000 : NOW - 60_000;
    const charge = { settingId: setting.id, trackingAccount: `u${i}@example.com`, periodSeconds: 3600 };
    await storage.throttle.consume([{ ...charge, messages: 1, bytes: 100 }], at);
  }
}

function session(time: number): SmtpSessionRow {
  const empty = {
    reason: '',
    instance: '',
    clientAddress: '192.0.2.1',
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
  return { ...empty, time, action: 'DUNNO' };
}

describe('policyd-admin cleanup (cleanup_db.py)', () => {
  it("prints iRedAPD's per-table lines on an empty database", async () => {
    const run = await box.run(['cleanup'], { now });
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout:
        '* throttle_tracking   : 0 left.\n' +
        '* greylisting_tracking: 0 left.\n' +
        '* senderscore_cache   : 0 left.\n' +
        '* smtp_sessions       : 0 left.\n',
    });
  });

  it('deletes expired rows of every table in batches, printing the running total per batch and what is left', async () => {
    const storage = await box.storage();
    await seedThrottle(storage, 3, 1);
    await seedGreylisting(storage, 5, 2);
    for (const age of [8, 9, 10, 1]) await storage.smtpSessions.record(session(NOW - age * DAY));
    const run = await box.run(['cleanup_db', '--batch-size', '2'], { now });
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: [
        '* throttle_tracking   : 2 records removed.',
        '* throttle_tracking   : 3 records removed.',
        '* throttle_tracking   : 1 left.',
        '* greylisting_tracking: 2 records removed.',
        '* greylisting_tracking: 4 records removed.',
        '* greylisting_tracking: 5 records removed.',
        '* greylisting_tracking: 2 left.',
        '* senderscore_cache   : 0 left.',
        '* smtp_sessions       : 2 records removed.',
        '* smtp_sessions       : 3 records removed.',
        '* smtp_sessions       : 1 left.',
        '',
      ].join('\n'),
    });
    const again = await box.run(['cleanup'], { now });
    expect(again.stdout).toBe(
      '* throttle_tracking   : 1 left.\n* greylisting_tracking: 2 left.\n' +
        '* senderscore_cache   : 0 left.\n* smtp_sessions       : 1 left.\n',
    );
  });

  it("uses the settings' CLEANUP_QUERY_SIZE_LIMIT and LOG_SMTP_SESSIONS_EXPIRE_DAYS", async () => {
    const file = join(box.dir, 'settings.py');
    await writeFile(
      file,
      [
        "backend = 'sqlite'",
        "plugins = ['greylisting']",
        `sqlite_db_path = ${JSON.stringify(box.file)}`,
        'CLEANUP_QUERY_SIZE_LIMIT = 3',
        'LOG_SMTP_SESSIONS_EXPIRE_DAYS = 2',
        '',
      ].join('\n'),
    );
    const storage = await box.storage();
    await seedGreylisting(storage, 4, 0);
    for (const age of [1, 3]) await storage.smtpSessions.record(session(NOW - age * DAY));
    const run = await box.run(['cleanup', '--config', file], { now, noDataDir: true });
    expect(run.stdout).toContain(
      '* greylisting_tracking: 3 records removed.\n* greylisting_tracking: 4 records removed.\n',
    );
    expect(run.stdout).toContain(
      '* smtp_sessions       : 1 records removed.\n* smtp_sessions       : 1 left.\n',
    );
  });

  it('redraws the per-batch line in place on a terminal', async () => {
    const storage = await box.storage();
    await seedGreylisting(storage, 3, 0);
    const run = await box.run(['cleanup', '--batch-size', '1'], { now, tty: true });
    expect(run.stdout).toContain(
      '\r\u001b[K* greylisting_tracking: 1 records removed.' +
        '\r\u001b[K* greylisting_tracking: 2 records removed.' +
        '\r\u001b[K* greylisting_tracking: 3 records removed.' +
        '\r\u001b[K* greylisting_tracking: 3 records removed.\n' +
        '* greylisting_tracking: 0 left.\n',
    );
    expect(run.stdout.split('\n').filter((l) => l.includes('greylisting_tracking'))).toHaveLength(2);
  });

  it('rejects a bad --batch-size before opening the database', async () => {
    for (const value of ['0', '-5', 'many', '1.5']) {
      const run = await box.run(['cleanup', '--batch-size', value], { now });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        `<<< ERROR >>> Invalid --batch-size: ${JSON.stringify(value)} (expected a number from 1 to 1000000).\n`,
      );
    }
  });

  it('reports an unreadable settings file with exit 1', async () => {
    const run = await box.run(['cleanup', '--config', join(box.dir, 'missing.py')], { now, noDataDir: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^<<< ERROR >>> cannot read settings file .*missing\.py: no such file\n$/);
  });
});
