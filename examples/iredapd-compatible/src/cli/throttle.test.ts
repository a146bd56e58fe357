import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliSandbox, createCliSandbox } from './test-harness.ts';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const now = () => NOW;

let box: CliSandbox;
beforeEach(async () => {
  box = await createCliSandbox();
});
afterEach(async () => {
  await box.dispose();
});

/** Start from an empty directory: no database until a command creates one. */
async function freshBox(): Promise<void> {
  await box.dispose();
  box = await createCliSandbox({ fresh: true });
}

const HEADER = 'account       kind      priority  period  msg_size  max_msgs  max_quota  max_rcpts';
const LEGEND = '(limits: -1 inherits from the next lower-priority setting, 0 means no limit)';

describe('policyd-admin throttle', () => {
  it('creates a setting with units, -1 for the limits not given, and the account priority', async () => {
    const run = await box.run([
      'throttle',
      'set',
      '--account',
      '@Example.com',
      '--kind',
      'outbound',
      '--period',
      '1h',
      '--max-msgs',
      '500',
      '--msg-size',
      '25M',
    ]);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: [
        '* Created throttle setting: @example.com (outbound)',
        HEADER,
        '-'.repeat(HEADER.length),
        '@example.com  outbound        60    3600  26214400       500         -1         -1',
        LEGEND,
        '',
      ].join('\n'),
    });
  });

  it('changes only the values given when the setting exists, keeping its priority', async () => {
    const base = ['throttle', 'set', '--account', 'user@example.com', '--kind', 'external'];
    await box.run([...base, '--period', '86400', '--max-quota', '1G', '--priority', '90']);
    const run = await box.run([...base, '--max-rcpts', '0']);
    expect(run.stdout.split('\n')[0]).toBe('* Updated throttle setting: user@example.com (external)');
    const storage = await box.storage();
    expect(await storage.throttle.listSettings()).toMatchObject([
      {
        account: 'user@example.com',
        kind: 'external',
        priority: 90,
        periodSeconds: 86_400,
        maxMessageSizeBytes: -1,
        maxMessages: -1,
        maxQuotaBytes: 1024 ** 3,
        maxRecipients: 0,
      },
    ]);
  });

  it('needs --period for a new setting and writes nothing without it', async () => {
    const run = await box.run(['throttle', 'set', '--account', '@.', '--kind', 'inbound', '--max-msgs', '5']);
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr:
        '<<< ERROR >>> A new throttle setting needs --period (for example --period 1h). Nothing was changed.\n',
    });
    const storage = await box.storage();
    expect(await storage.throttle.listSettings()).toEqual([]);
  });

  it('rejects bad values naming them, before opening the database', async () => {
    await freshBox();
    const base = ['throttle', 'set', '--account', '@example.com', '--kind', 'outbound', '--period', '1h'];
    const cases: [string[], string][] = [
      [
        ['--max-msgs', 'lots'],
        'Invalid --max-msgs: "lots" (expected a number; -1 to inherit, 0 for no limit).',
      ],
      [
        ['--msg-size', '10T'],
        'Invalid --msg-size: "10T" (expected bytes, or a number with K, M or G such as 25M; -1 to inherit, 0 for no limit).',
      ],
      [['--priority', '300'], 'Invalid --priority: "300" (expected a number from 0 to 255).'],
      [
        ['--max-rcpts', '-2'],
        'Invalid --max-rcpts: "-2" (expected a number; -1 to inherit, 0 for no limit).',
      ],
    ];
    for (const [extra, message] of cases) {
      const run = await box.run([...base, ...extra]);
      expect(run).toEqual({ status: 1, stdout: '', stderr: `<<< ERROR >>> ${message}\n` });
    }
    let run = await box.run([
      'throttle',
      'set',
      '--account',
      'nobody',
      '--kind',
      'outbound',
      '--period',
      '1',
    ]);
    expect(run.stderr).toMatch(/^<<< ERROR >>> Invalid account: "nobody" \(expected /);
    run = await box.run(['throttle', 'set', '--account', '@.', '--kind', 'sideways', '--period', '1d']);
    expect(run.stderr).toBe(
      '<<< ERROR >>> Invalid --kind: "sideways" (expected inbound, outbound or external).\n',
    );
    run = await box.run(['throttle', 'set', '--account', '@.', '--period', '1d']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("error: required option '--kind <kind>' not specified");
    run = await box.run(['throttle', 'set', '--account', '@.', '--kind', 'inbound', '--period', '1w']);
    expect(run.stderr).toContain('Invalid --period: "1w"');
    expect(existsSync(box.file)).toBe(false);
  });

  it('lists settings, filtered by account and kind', async () => {
    await box.run([
      'throttle',
      'set',
      '--account',
      '@.',
      '--kind',
      'inbound',
      '--period',
      '60',
      '--max-msgs',
      '10',
    ]);
    await box.run(['throttle', 'set', '--account', '@.', '--kind', 'outbound', '--period', '60']);
    await box.run(['throttle', 'set', '--account', '192.0.2.7', '--kind', 'external', '--period', '60']);
    let run = await box.run(['throttle', 'list']);
    expect(run.stdout).toBe(
      [
        'account    kind      priority  period  msg_size  max_msgs  max_quota  max_rcpts',
        '-'.repeat(79),
        '192.0.2.7  external        80      60        -1        -1         -1         -1',
        '@.         inbound          0      60        -1        10         -1         -1',
        '@.         outbound         0      60        -1        -1         -1         -1',
        LEGEND,
        '',
      ].join('\n'),
    );
    run = await box.run(['throttle', 'list', '--kind', 'OUTBOUND']);
    expect(run.stdout.split('\n')[2]).toBe(
      '@.       outbound         0      60        -1        -1         -1         -1',
    );
    run = await box.run(['throttle', 'list', '--account', 'nobody@example.com']);
    expect(run.stdout).toBe('* No throttle settings.\n');
  });

  it('deletes a setting with its counters, and says when there was none', async () => {
    await box.run(['throttle', 'set', '--account', '@example.com', '--kind', 'outbound', '--period', '60']);
    let run = await box.run(['throttle', 'delete', '--account', '@example.com', '--kind', 'outbound']);
    expect(run.stdout).toBe('* Deleted throttle setting: @example.com (outbound), with its counters.\n');
    run = await box.run(['throttle', 'delete', '--account', '@example.com', '--kind', 'outbound']);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: '* No throttle setting for @example.com (outbound).\n',
    });
  });

  it('shows and resets counters by setting or tracking key', async () => {
    await box.run(['throttle', 'set', '--account', '@example.com', '--kind', 'outbound', '--period', '1h']);
    const storage = await box.storage();
    const [setting] = await storage.throttle.listSettings();
    const charge = { settingId: setting?.id ?? 0, periodSeconds: 3600, messages: 2, bytes: 1500 };
    await storage.throttle.consume([{ ...charge, trackingAccount: 'a@example.com' }], NOW - 600_000);
    await storage.throttle.consume([{ ...charge, trackingAccount: 'b@example.com' }], NOW - 7200_000);

    let run = await box.run(['throttle', 'counters', '--account', '@example.com', '--kind', 'outbound'], {
      now,
    });
    expect(run.stdout).toBe(
      [
        'account       kind      tracking       messages  bytes  window start (UTC)   window end (UTC)     state',
        '-'.repeat(105),
        '@example.com  outbound  a@example.com         2   1500  2026-01-10 11:50:00  2026-01-10 12:50:00  current',
        '@example.com  outbound  b@example.com         2   1500  2026-01-10 10:00:00  2026-01-10 11:00:00  ended',
        '',
      ].join('\n'),
    );
    run = await box.run(['throttle', 'counters', '--tracking', 'B@Example.com'], { now });
    expect(run.stdout.split('\n')).toHaveLength(4);
    run = await box.run(['throttle', 'reset', '--tracking', 'b@example.com']);
    expect(run.stdout).toBe('* Reset 1 counter.\n');
    run = await box.run(['throttle', 'reset', '--account', '@example.com', '--kind', 'outbound']);
    expect(run.stdout).toBe('* Reset 1 counter.\n');
    run = await box.run(['throttle', 'counters', '--tracking', 'a@example.com']);
    expect(run.stdout).toBe('* No counters.\n');
  });

  it('needs a counter selection, and a setting that exists', async () => {
    let run = await box.run(['throttle', 'counters']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      '<<< ERROR >>> Give --account and --kind (a setting), --tracking (a sender, recipient or IP), or both.\n',
    );
    run = await box.run(['throttle', 'reset', '--account', '@example.com']);
    expect(run.stderr).toBe(
      '<<< ERROR >>> --account and --kind go together (the setting whose counters to use).\n',
    );
    run = await box.run(['throttle', 'reset', '--account', '@example.com', '--kind', 'inbound']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      '<<< ERROR >>> no throttle setting for account "@example.com" and kind inbound\n',
    );
  });

  it("fixes priorities with fix_throttle_priority.py's messages", async () => {
    let run = await box.run(['throttle', 'fix-priorities']);
    expect(run.stdout).toBe('No throttle settings, no need to fix. Skip.\n');
    await box.run(['throttle', 'set', '--account', '@example.com', '--kind', 'outbound', '--period', '60']);
    await box.run([
      'throttle',
      'set',
      '--account',
      'user@example.com',
      '--kind',
      'outbound',
      '--period',
      '60',
      '--priority',
      '5',
    ]);
    run = await box.run(['throttle', 'fix_throttle_priority']);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: 'Fixed throttle priority: account=user@example.com, priority: 5 -> 100.\n',
    });
    run = await box.run(['throttle', 'fix-priorities']);
    expect(run.stdout).toBe('');
  });
});
