import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeResolver, fixedClock } from '@policyd/core/testing';
import { createThrottleAdmin } from '@policyd/plugin-throttle';
import { openStorage } from '@policyd/storage-knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settingsPy, startTestDaemon, type TempDir, tempDir } from '../test/support/daemon-harness.ts';
import { explainRequest, formatExplain } from './explain.ts';

const GREYLISTED = '451 4.7.1 Intentional policy rejection, please try again later';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
});

async function countRows(file: string, table: string): Promise<number> {
  const storage = await openStorage({ client: 'sqlite', filename: file, migrate: false });
  try {
    const [row] = (await storage.databases.iredapd.knex(table).count({ n: '*' })) as { n: number }[];
    return Number(row?.n);
  } finally {
    await storage.close();
  }
}

// A database as a first start leaves it (greylisting enabled globally), with a throttle setting for alice.
async function prepare(config: string): Promise<string> {
  const t = await startTestDaemon({ config });
  const admin = await t.admin();
  await createThrottleAdmin(admin.throttle).set({
    account: 'alice@example.com',
    kind: 'outbound',
    periodSeconds: 3600,
    maxMessages: 1,
  });
  await t.stop();
  return join(dir.path, 'policyd.sqlite');
}

const attrs = (pairs: Record<string, string>) => new Map(Object.entries(pairs));
const common = { dns: createFakeResolver(), now: fixedClock().now, hostname: 'policyd.test' };

describe('explainRequest', () => {
  it('shows every plugin in order with its decision, and records no greylisting attempt', async () => {
    const config = await dir.write(
      'settings.py',
      settingsPy(['greylisting', 'throttle', 'reject_null_sender', 'amavisd_wblist']),
    );
    const file = await prepare(config);
    const report = await explainRequest({
      ...common,
      config,
      attributes: attrs({
        sender: 'a@sender.test',
        recipient: 'b@example.com',
        client_address: '192.0.2.10',
      }),
    });
    expect(report.action).toBe(GREYLISTED);
    expect(report.dryRun).toBe('rolled-back');
    expect(report.steps.map((s) => [s.name, s.outcome, s.action])).toEqual([
      ['reject_null_sender', 'dunno', 'DUNNO'],
      ['greylisting', 'decided', GREYLISTED],
      ['throttle', 'other-state', undefined],
      ['amavisd_wblist', 'not-run', undefined],
    ]);
    expect(report.steps[1]?.reason).toMatch(/^greylisted: new triplet, retry accepted after 15m/);
    expect(report.smtpSession).toMatchObject({ action: '451' });
    expect(await countRows(file, 'greylisting_tracking')).toBe(0);
    // The same request again is still a new triplet: nothing was remembered.
    const again = await explainRequest({
      ...common,
      config,
      attributes: attrs({
        sender: 'a@sender.test',
        recipient: 'b@example.com',
        client_address: '192.0.2.10',
      }),
    });
    expect(again.steps[1]?.reason).toMatch(/new triplet/);

    const text = formatExplain(report);
    expect(text).toContain(`Settings: ${config}`);
    expect(text).toContain('Request: RCPT from [192.0.2.10], a@sender.test -> b@example.com');
    expect(text).toMatch(/ {2}100 reject_null_sender: DUNNO \(not authenticated\) \[\d+\.\d+ ms\]/);
    expect(text).toMatch(
      / {3}80 greylisting: 451 4\.7\.1 Intentional policy rejection, please try again later \(greylisted: new triplet/,
    );
    expect(text).toContain('   60 throttle: skipped, runs at END-OF-MESSAGE');
    expect(text).toContain('   40 amavisd_wblist: not run, greylisting decided');
    expect(text).toMatch(/Action: 451 4\.7\.1 .* \(decided by greylisting\)/);
    expect(text).toContain('smtp_sessions: a real request would write a row (action 451)');
    expect(text).toContain('Dry run: nothing was recorded (the database transaction was rolled back).');
  });

  it('consumes no throttle counter at END-OF-MESSAGE', async () => {
    const config = await dir.write('settings.py', settingsPy(['throttle', 'greylisting']));
    const file = await prepare(config);
    const eom = attrs({
      protocol_state: 'END-OF-MESSAGE',
      sasl_username: 'alice@example.com',
      sender: 'alice@example.com',
      recipient: 'bob@other.test',
      recipient_count: '1',
      size: '100',
      client_address: '192.0.2.10',
    });
    for (let i = 0; i < 3; i++) {
      const report = await explainRequest({ ...common, config, attributes: eom });
      expect(report.action).toBe('DUNNO');
      expect(report.steps.map((s) => [s.name, s.outcome])).toEqual([
        ['greylisting', 'other-state'],
        ['throttle', 'dunno'],
      ]);
    }
    expect(await countRows(file, 'throttle_tracking')).toBe(0);
    const over = await explainRequest({
      ...common,
      config,
      attributes: new Map([...eom, ['recipient_count', '2']]),
    });
    expect(over.action).toBe('REJECT Throttling quota exceeded');
    expect(formatExplain(over)).toMatch(/ {2}60 throttle: REJECT Throttling quota exceeded \(.*max_msgs\)/);
  });

  it('creates no database file when none exists yet, and explains as a first start would', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting']));
    const report = await explainRequest({
      ...common,
      config,
      attributes: attrs({ client_address: '192.0.2.1' }),
    });
    expect(report.action).toBe(GREYLISTED);
    expect(existsSync(join(dir.path, 'policyd.sqlite'))).toBe(false);
  });

  it('reports a failing plugin as failed, counting as DUNNO', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting', 'reject_null_sender']));
    const file = await prepare(config);
    const storage = await openStorage({ client: 'sqlite', filename: file, migrate: false });
    await storage.databases.iredapd.knex.schema.dropTable('greylisting_tracking');
    await storage.close();
    const report = await explainRequest({
      ...common,
      config,
      attributes: attrs({ client_address: '192.0.2.1' }),
    });
    expect(report.action).toBe('DUNNO');
    expect(report.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['reject_null_sender', 'dunno'],
      ['greylisting', 'failed'],
    ]);
    expect(report.steps[1]?.reason).toMatch(/greylisting_tracking/);
    expect(formatExplain(report)).toMatch(
      / {3}80 greylisting: FAILED, counts as DUNNO: .*greylisting_tracking/,
    );
    expect(formatExplain(report)).toContain('Action: DUNNO (no plugin decided)');
  });
});
