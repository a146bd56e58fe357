import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeResolver, fixedClock } from '@policyd/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  captureLog,
  policyClient,
  settingsPy,
  type TempDir,
  tempDir,
} from '../test/support/daemon-harness.ts';
import type { Daemon } from './daemon.ts';
import { createDaemonCli, type DaemonCliIo, EXIT_CONFIG } from './daemon-cli.ts';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await dir.remove();
});

function io(overrides: Partial<DaemonCliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: DaemonCliIo = {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readStdin: async () => '',
    daemonOptions: {
      now: fixedClock().now,
      dns: createFakeResolver(),
      hostname: 'policyd.test',
      listen: { host: '127.0.0.1', port: 0 },
    },
    ...overrides,
  };
  return { io: value, out: () => out.join(''), err: () => err.join('') };
}

describe('policyd-iredapd --print-plugins', () => {
  it('prints the effective order without opening the database', async () => {
    const config = await dir.write(
      'settings.py',
      settingsPy(
        ['throttle', 'amavisd_wblist', 'greylisting'],
        "PLUGIN_PRIORITIES['amavisd_wblist'] = 90",
        "PLUGIN_PRIORITIES['amavisd_wbl'] = 5",
      ),
    );
    const t = io();
    expect(await createDaemonCli(t.io).run(['--config', config, '--print-plugins'])).toBe(0);
    expect(t.out()).toBe(
      [
        '90  amavisd_wblist  RCPT',
        '80  greylisting     RCPT',
        '60  throttle        END-OF-MESSAGE',
        "warning: PLUGIN_PRIORITIES names 'amavisd_wbl', which is not an enabled plugin",
        '',
      ].join('\n'),
    );
    expect(existsSync(join(dir.path, 'policyd.sqlite'))).toBe(false);
  });

  it('prints the stand-alone order without a settings file', async () => {
    const t = io();
    expect(await createDaemonCli(t.io).run(['--print-plugins', '--data-dir', dir.path])).toBe(0);
    expect(t.out().split('\n')[0]).toBe('100  reject_null_sender  RCPT');
    expect(existsSync(join(dir.path, 'policyd.sqlite'))).toBe(false);
  });

  it('fails with EX_CONFIG (78) and the reason for invalid settings', async () => {
    const config = await dir.write(
      'settings.py',
      "backend = 'sqlite'\nplugins = ['greylisting', 'senderscor']\n",
    );
    const t = io();
    expect(await createDaemonCli(t.io).run(['-c', config, '--print-plugins'])).toBe(EXIT_CONFIG);
    expect(t.err()).toMatch(
      /^policyd-iredapd: plugins: cannot load 'senderscor' \(unknown plugin; did you mean 'senderscore'\?\)/,
    );
  });
});

describe('policyd-iredapd usage', () => {
  it('prints help with exit status 0, and refuses unknown options', async () => {
    const help = io();
    expect(await createDaemonCli(help.io).run(['--help'])).toBe(0);
    expect(help.out()).toMatch(/Usage: policyd-iredapd \[options\] \[command\]/);
    expect(help.out()).toContain('--print-plugins');
    expect(help.out()).toContain('explain [options] [attributes...]');
    const bad = io();
    expect(await createDaemonCli(bad.io).run(['--no-such-option'])).toBe(1);
    expect(bad.err()).toMatch(/unknown option '--no-such-option'/);
    const level = io();
    expect(await createDaemonCli(level.io).run(['--log-level', 'loud'])).toBe(1);
    expect(level.err()).toMatch(/Allowed choices are debug, info, warn, warning, error, fatal, critical/);
  });
});

describe('policyd-iredapd explain', () => {
  it('explains attributes given as arguments', async () => {
    const config = await dir.write('settings.py', settingsPy(['reject_null_sender', 'greylisting']));
    const t = io();
    const code = await createDaemonCli(t.io).run([
      'explain',
      '--config',
      config,
      'sender=',
      'sasl_username=alice@example.com',
      'recipient=bob@example.com',
      'client_address=192.0.2.10',
    ]);
    expect(t.err()).toBe('');
    expect(code).toBe(0);
    expect(t.out()).toContain(
      'Action: REJECT Policy rejection due to null sender (decided by reject_null_sender)',
    );
    expect(t.out()).toContain('80 greylisting: not run, reject_null_sender decided');
  });

  it('reads the request from stdin and prints JSON', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting']));
    const t = io({
      readStdin: async () =>
        'request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@b.test\nclient_address=192.0.2.1\n\n',
    });
    expect(await createDaemonCli(t.io).run(['--config', config, 'explain', '--json'])).toBe(0);
    const report = JSON.parse(t.out()) as Record<string, unknown>;
    expect(report).toMatchObject({
      settings: config,
      request: { sender: 'a@b.test', client_address: '192.0.2.1' },
      action: '451 4.7.1 Intentional policy rejection, please try again later',
      dryRun: 'rolled-back',
      steps: [{ name: 'greylisting', outcome: 'decided' }],
    });
  });

  it('names a bad attribute and exits 78', async () => {
    const t = io();
    expect(await createDaemonCli(t.io).run(['explain', '--data-dir', dir.path, 'sender'])).toBe(EXIT_CONFIG);
    expect(t.err()).toMatch(/^policyd-iredapd explain: argument 1: expected name=value/);
  });
});

describe('policyd-iredapd (the daemon)', () => {
  it('runs until SIGTERM, reloads on SIGHUP, and exits 0', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting']));
    const signals = new EventEmitter();
    const log = captureLog();
    let daemon: Daemon | undefined;
    let running: Promise<number> = Promise.resolve(-1);
    const started = new Promise<Daemon>((resolve) => {
      const t = io({
        signals,
        onDaemon: (d) => {
          daemon = d;
          resolve(d);
        },
      });
      t.io = { ...t.io, daemonOptions: { ...t.io.daemonOptions, logDestination: log } };
      running = createDaemonCli(t.io).run(['--config', config, '--log-level', 'warning']);
    });
    const d = await started;
    const client = await policyClient(d.address.port);
    expect(await client.ask({ sender: '', sasl_username: 'a@example.com' })).toBe('DUNNO');
    await dir.write('settings.py', settingsPy(['reject_null_sender', 'greylisting']));
    signals.emit('SIGHUP');
    while (daemon?.order.plugins.length !== 2) await new Promise((r) => setTimeout(r, 5));
    expect(await client.ask({ sender: '', sasl_username: 'a@example.com' })).toBe(
      'REJECT Policy rejection due to null sender',
    );
    signals.emit('SIGTERM');
    expect(await running).toBe(0);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    // --log-level warning: no info lines.
    expect(log.lines.every((l) => l.level >= 40)).toBe(true);
  });

  it('exits 1 when a second SIGTERM arrives while closing', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting']));
    const signals = new EventEmitter();
    const dns = createFakeResolver({ 'slow.test': { TXT: [['v=spf1 -all']], delayMs: 500 } });
    let running: Promise<number> = Promise.resolve(-1);
    const d = await new Promise<Daemon>((resolve) => {
      const t = io({ signals, onDaemon: resolve });
      t.io = { ...t.io, daemonOptions: { ...t.io.daemonOptions, dns, logDestination: captureLog() } };
      running = createDaemonCli(t.io).run(['--config', config]);
    });
    const client = await policyClient(d.address.port);
    client.send({ sender: 'x@slow.test' });
    while (dns.queries.length === 0) await new Promise((r) => setTimeout(r, 5));
    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    expect(await running).toBe(1);
    await d.close();
  });

  it('fails to start with EX_CONFIG for invalid settings', async () => {
    const config = await dir.write('settings.py', 'plugins = []\n');
    const t = io();
    expect(await createDaemonCli(t.io).run(['--config', config])).toBe(EXIT_CONFIG);
    expect(t.err()).toMatch(/^policyd-iredapd: cannot start: .*backend is not set/);
  });
});
