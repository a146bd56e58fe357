import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createThrottleAdmin } from '@policyd/plugin-throttle';
import { createWblistAdmin } from '@policyd/plugin-wblist';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  policyClient,
  settingsPy,
  startTestDaemon,
  type TempDir,
  type TestDaemon,
  tempDir,
} from '../test/support/daemon-harness.ts';
import { fakeSendmail } from '../test/support/fake-mail.ts';
import { startDaemon } from './daemon.ts';

const GREYLISTED = '451 4.7.1 Intentional policy rejection, please try again later';
const MINUTE = 60_000;

let dir: TempDir;
let running: TestDaemon | undefined;

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await dir.remove();
});

async function start(settings?: string, extra: Parameters<typeof startTestDaemon>[0] = {}) {
  const config = settings === undefined ? undefined : await dir.write('settings.py', settings);
  running = await startTestDaemon({
    dataDir: join(dir.path, 'data'),
    ...(config === undefined ? {} : { config }),
    ...extra,
  });
  return running;
}

async function smtpSessions(t: TestDaemon): Promise<Record<string, unknown>[]> {
  await t.daemon.flushSmtpSessions();
  const admin = await t.admin();
  return (await admin.databases.iredapd.knex('smtp_sessions').select().orderBy('id')) as Record<
    string,
    unknown
  >[];
}

describe('startDaemon without settings', () => {
  it('creates the SQLite database under the data directory, enables greylisting and answers over TCP', async () => {
    const t = await start();
    expect(existsSync(join(dir.path, 'data', 'policyd.sqlite'))).toBe(true);
    expect(t.daemon.order.plugins.map((p) => p.name)).toEqual([
      'reject_null_sender',
      'greylisting',
      'throttle',
      'amavisd_wblist',
    ]);
    const client = await policyClient(t.port);
    expect(await client.ask()).toBe(GREYLISTED);
    expect(await client.ask({ sender: '', sasl_username: 'alice@example.com' })).toBe(
      'REJECT Policy rejection due to null sender',
    );
    expect(await client.ask({ protocol_state: 'END-OF-MESSAGE', recipient_count: 1, size: 300 })).toBe(
      'DUNNO',
    );
    client.close();
    const messages = t.log.messages();
    expect(messages).toContain('Loading plugin (priority: 80): greylisting');
    expect(messages.some((m) => m.startsWith('New database: greylisting enabled for all senders'))).toBe(
      true,
    );
    expect(messages).toContain(
      `Starting policyd-iredapd (backend: sqlite ${join(dir.path, 'data', 'policyd.sqlite')}), listening on 127.0.0.1:${t.port}.`,
    );
  });

  it('keeps an existing database as it is on the next start', async () => {
    const first = await start();
    await first.stop();
    running = undefined;
    const second = await start();
    expect(second.log.messages().some((m) => m.startsWith('New database'))).toBe(false);
    expect(await (await policyClient(second.port)).ask()).toBe(GREYLISTED);
  });

  it('fails to start on invalid settings, naming the file and line', async () => {
    const config = await dir.write(
      'settings.py',
      "backend = 'sqlite'\nplugins = ['greylisting']\nlisten_port = 'x'\n",
    );
    await expect(startDaemon({ config, dataDir: dir.path })).rejects.toThrow(/settings\.py:3.*listen_port/);
  });

  it('fails to start on a plugin policyd does not implement, listing the available ones', async () => {
    const config = await dir.write('settings.py', settingsPy(['greylisting', 'senderscore']));
    await expect(
      startDaemon({ config, dataDir: dir.path, logDestination: { write: () => {} } }),
    ).rejects.toThrow(/senderscore.*Available: reject_null_sender, amavisd_wblist, greylisting, throttle/);
  });
});

describe('a settings.py with plugins and PLUGIN_PRIORITIES', () => {
  const SETTINGS = settingsPy(
    ['greylisting', 'amavisd_wblist', 'reject_null_sender'],
    "PLUGIN_PRIORITIES['amavisd_wblist'] = 90",
  );

  it('runs the plugins in the effective order', async () => {
    const t = await start(SETTINGS);
    expect(t.daemon.order.plugins.map((p) => [p.name, p.priority])).toEqual([
      ['reject_null_sender', 100],
      ['amavisd_wblist', 90],
      ['greylisting', 80],
    ]);
  });

  it('rejects a blacklisted sender and lets a whitelisted one skip greylisting', async () => {
    const t = await start(SETTINGS);
    const wblist = createWblistAdmin((await t.admin()).wblist);
    await wblist.add({ list: 'blacklist', addresses: ['@spam.test'] });
    await wblist.add({ list: 'whitelist', addresses: ['friend@partner.test'] });
    const client = await policyClient(t.port);
    expect(await client.ask({ sender: 'bad@spam.test' })).toBe('REJECT Blacklisted');
    expect(await client.ask({ sender: 'friend@partner.test' })).toBe('OK');
    expect(await client.ask({ sender: 'someone@else.test' })).toBe(GREYLISTED);
  });
});

describe('greylisting', () => {
  it('defers a new triplet, defers a retry that is too early, and accepts it after the block time', async () => {
    const t = await start(settingsPy(['greylisting'], 'GREYLISTING_BLOCK_EXPIRE = 15'));
    const client = await policyClient(t.port);
    const triplet = {
      sender: 'carol@sender.test',
      recipient: 'dave@example.com',
      client_address: '192.0.2.20',
    };
    expect(await client.ask(triplet)).toBe(GREYLISTED);
    t.clock.advance(5 * MINUTE);
    expect(await client.ask(triplet)).toBe(GREYLISTED);
    t.clock.advance(10 * MINUTE + 1_000);
    expect(await client.ask(triplet)).toBe('DUNNO');
    // The client has passed: a new triplet from it is accepted too (iRedAPD's per-IP pass state).
    expect(await client.ask({ ...triplet, recipient: 'erin@example.com' })).toBe('DUNNO');
  });
});

describe('throttle', () => {
  it('rejects the message over the limit at END-OF-MESSAGE, not at RCPT, logs the notice and e-mails it', async () => {
    const sendmail = await fakeSendmail(dir.path);
    const t = await start(
      settingsPy(
        ['throttle', 'greylisting'],
        `CMD_SENDMAIL = '${sendmail.path}'`,
        "NOTIFICATION_RECIPIENTS = ['postmaster@example.com']",
      ),
    );
    await createThrottleAdmin((await t.admin()).throttle).set({
      account: 'alice@example.com',
      kind: 'outbound',
      periodSeconds: 3600,
      maxMessages: 2,
    });
    const client = await policyClient(t.port);
    const alice = {
      sasl_username: 'alice@example.com',
      sender: 'alice@example.com',
      recipient: 'bob@other.test',
    };
    const eom = { ...alice, protocol_state: 'END-OF-MESSAGE', recipient_count: 1, size: 1000 };
    for (let i = 0; i < 3; i++) expect(await client.ask(alice)).toBe('DUNNO');
    expect(await client.ask(eom)).toBe('DUNNO');
    expect(await client.ask(eom)).toBe('DUNNO');
    expect(await client.ask(eom)).toBe('REJECT Throttling quota exceeded');
    t.clock.advance(3601_000);
    expect(await client.ask(eom)).toBe('DUNNO');
    expect(t.log.lines.find((l) => l.msg.startsWith('Throttle quota exceeded'))).toMatchObject({
      level: 40,
      msg: 'Throttle quota exceeded: alice@example.com, max_msgs=2',
    });
    await t.daemon.flushNotifications();
    const calls = await sendmail.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args).toEqual(['-i', '-f', 'no-reply@localhost.localdomain', 'postmaster@example.com']);
    expect(calls[0]?.stdin).toMatch(/^Subject: Throttle quota exceeded: alice@example\.com, max_msgs=2$/m);
  });
});

describe('throttle notification failures', () => {
  it('log the error and leave the answers as they are', async () => {
    const t = await start(settingsPy(['throttle'], `CMD_SENDMAIL = '${join(dir.path, 'no-such-sendmail')}'`));
    await createThrottleAdmin((await t.admin()).throttle).set({
      account: 'alice@example.com',
      kind: 'outbound',
      periodSeconds: 3600,
      maxMessages: 1,
    });
    const client = await policyClient(t.port);
    const eom = {
      sasl_username: 'alice@example.com',
      sender: 'alice@example.com',
      recipient: 'bob@other.test',
      protocol_state: 'END-OF-MESSAGE',
      recipient_count: 1,
      size: 1000,
    };
    expect(await client.ask(eom)).toBe('DUNNO');
    expect(await client.ask(eom)).toBe('REJECT Throttling quota exceeded');
    expect(await client.ask(eom)).toBe('REJECT Throttling quota exceeded');
    await t.daemon.flushNotifications();
    const errors = t.log.lines.filter((l) => l.msg.startsWith('Error while sending notification email'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 50, msg: expect.stringContaining('ENOENT') });
  });
});

describe('the log line', () => {
  it("writes one line per request in iRedAPD's format, with structured fields, and no core line", async () => {
    const t = await start(settingsPy(['greylisting', 'reject_null_sender']));
    const client = await policyClient(t.port);
    await client.ask({
      sender: 'Carol+tag@Sender.test',
      recipient: 'dave@example.com',
      client_address: '192.0.2.20',
      reverse_client_name: '[mail.sender.test]',
      encryption_protocol: 'TLSv1.3',
      server_port: 25,
    });
    await client.ask({
      sender: 'alice@example.com',
      sasl_username: 'alice@example.com',
      recipient: 'x@y.test',
    });
    await client.ask({
      protocol_state: 'END-OF-MESSAGE',
      sasl_username: 'alice@example.com',
      sender: 'other@example.com',
      recipient: '',
      recipient_count: 3,
      size: 4096,
    });
    const lines = t.log.lines.filter((l) => l.msg.startsWith('['));
    expect(lines).toHaveLength(3);
    expect(lines[0]?.msg).toMatch(
      /^\[192\.0\.2\.20\] RCPT, carol\+tag@sender\.test -> dave@example\.com, 451 4\.7\.1 Intentional policy rejection, please try again later \[sasl_username=, sender=carol\+tag@sender\.test, client_name=mail\.example\.net, reverse_client_name=mail\.sender\.test, helo=mail\.example\.net, encryption_protocol=TLSv1\.3, encryption_cipher=, server_port=25, plugin=greylisting, process_time=\d+\.\d{4}s\]$/,
    );
    expect(lines[0]).toMatchObject({ level: 30, client: '192.0.2.20', state: 'RCPT', plugin: 'greylisting' });
    expect(lines[1]?.msg).toMatch(/^\[192\.0\.2\.10\] RCPT, alice@example\.com => x@y\.test, DUNNO \[/);
    expect(lines[2]?.msg).toMatch(
      /^\[192\.0\.2\.10\] END-OF-MESSAGE, alice@example\.com => other@example\.com -> , DUNNO \[recipient_count=3, size=4096, process_time=\d+\.\d{4}s\]$/,
    );
    expect(t.log.messages()).not.toContain('policy request');
  });
});

describe('smtp_sessions', () => {
  it('writes a row for RCPT answers other than DUNNO and for every END-OF-MESSAGE answer', async () => {
    const t = await start(settingsPy(['greylisting', 'reject_null_sender']));
    const client = await policyClient(t.port);
    await client.ask({ sender: 'carol+tag@sender.test', recipient: 'dave+x@example.com', instance: 'i1' });
    await client.ask({ sender: 'a@b.test', sasl_username: 'a@b.test', instance: 'i2' }); // RCPT DUNNO: no row
    await client.ask({ protocol_state: 'MAIL', instance: 'i3' }); // other state: no row
    await client.ask({
      protocol_state: 'END-OF-MESSAGE',
      sasl_username: 'a@b.test',
      sender: 'a@b.test',
      instance: 'i4',
    });
    await client.ask({ protocol_state: 'rcpt', sender: '', sasl_username: 'a@b.test', instance: 'i5' });
    const rows = await smtpSessions(t);
    expect(rows.map((r) => [r.instance, r.action, r.reason])).toEqual([
      ['i1', '451', '4.7.1 Intentional policy rejection, please try again later'],
      ['i4', 'DUNNO', ''],
      ['i5', 'REJECT', 'Policy rejection due to null sender'],
    ]);
    expect(rows[0]).toMatchObject({
      time: '2026-01-01 00:00:00',
      time_num: Date.UTC(2026, 0, 1) / 1000,
      sender: 'carol@sender.test',
      sender_domain: 'sender.test',
      recipient: 'dave@example.com',
      recipient_domain: 'example.com',
      client_address: '192.0.2.10',
      client_name: 'mail.example.net',
      helo_name: 'mail.example.net',
      sasl_username: '',
    });
    expect(rows[1]).toMatchObject({ sasl_username: 'a@b.test', sasl_domain: 'b.test' });
  });

  it('honours LOG_SMTP_SESSIONS_BYPASS_GREYLISTING, _BYPASS_WHITELIST and _BYPASS_DUNNO', async () => {
    const t = await start(
      settingsPy(
        ['greylisting', 'amavisd_wblist'],
        "PLUGIN_PRIORITIES['amavisd_wblist'] = 90",
        'LOG_SMTP_SESSIONS_BYPASS_GREYLISTING = True',
        'LOG_SMTP_SESSIONS_BYPASS_WHITELIST = True',
        'LOG_SMTP_SESSIONS_BYPASS_DUNNO = True',
      ),
    );
    const wblist = createWblistAdmin((await t.admin()).wblist);
    await wblist.add({ list: 'whitelist', addresses: ['@friend.test'] });
    await wblist.add({ list: 'blacklist', addresses: ['@spam.test'] });
    const client = await policyClient(t.port);
    expect(await client.ask({ sender: 'x@other.test', instance: 'grey' })).toBe(GREYLISTED);
    expect(await client.ask({ sender: 'x@friend.test', instance: 'white' })).toBe('OK');
    expect(await client.ask({ sender: 'x@spam.test', instance: 'black' })).toBe('REJECT Blacklisted');
    expect(await client.ask({ protocol_state: 'END-OF-MESSAGE', instance: 'eom' })).toBe('DUNNO');
    expect((await smtpSessions(t)).map((r) => r.instance)).toEqual(['black']);
  });

  it('writes nothing when LOG_SMTP_SESSIONS is off', async () => {
    const t = await start(settingsPy(['greylisting'], 'LOG_SMTP_SESSIONS = False'));
    const client = await policyClient(t.port);
    expect(await client.ask()).toBe(GREYLISTED);
    expect(await client.ask({ protocol_state: 'END-OF-MESSAGE' })).toBe('DUNNO');
    expect(await smtpSessions(t)).toEqual([]);
  });
});

describe('reload (SIGHUP)', () => {
  it('swaps in new settings without dropping a connection, answering a request in flight', async () => {
    const t = await start(settingsPy(['greylisting']));
    t.dns.set('slow.test', { TXT: [['v=spf1 -all']], delayMs: 300 });
    const client = await policyClient(t.port);
    expect(await client.ask({ sender: '', sasl_username: 'a@example.com' })).toBe('DUNNO');
    client.send({ sender: 'x@slow.test', instance: 'in-flight' });
    while (!t.dns.queries.some((q) => q.name === 'slow.test')) await new Promise((r) => setTimeout(r, 5));
    await dir.write('settings.py', settingsPy(['greylisting', 'reject_null_sender']));
    const reloaded = t.daemon.reload();
    expect(await client.next()).toBe(GREYLISTED);
    expect(await reloaded).toEqual({ ok: true, restartNeeded: [] });
    expect(await client.ask({ sender: '', sasl_username: 'a@example.com' })).toBe(
      'REJECT Policy rejection due to null sender',
    );
    expect(client.socket.destroyed).toBe(false);
    expect(t.daemon.connections).toBe(1);
    expect(t.daemon.order.plugins.map((p) => p.name)).toEqual(['reject_null_sender', 'greylisting']);
    expect(t.log.messages().some((m) => m.startsWith('Reloaded settings from'))).toBe(true);
  });

  it('keeps the running settings when the new ones are broken', async () => {
    const t = await start(settingsPy(['reject_null_sender']));
    const client = await policyClient(t.port);
    await dir.write('settings.py', `${settingsPy(['reject_null_sender'])}GREYLISTING_BLOCK_EXPIRE = (\n`);
    const result = await t.daemon.reload();
    expect(result.ok).toBe(false);
    await dir.write('settings.py', settingsPy(['reject_null_sender', 'no_such_plugin']));
    expect((await t.daemon.reload()).ok).toBe(false);
    expect(await client.ask({ sender: '', sasl_username: 'a@example.com' })).toBe(
      'REJECT Policy rejection due to null sender',
    );
    expect(t.daemon.order.plugins.map((p) => p.name)).toEqual(['reject_null_sender']);
    const errors = t.log.lines.filter((l) => l.level === 50).map((l) => l.msg);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^reload: .*settings\.py.*; keeping the running settings$/);
    expect(errors[1]).toMatch(/no_such_plugin/);
  });

  it('opens the new database when the database settings change, and says what needs a restart', async () => {
    const t = await start(settingsPy(['greylisting']));
    const client = await policyClient(t.port);
    expect(await client.ask({ instance: 'a' })).toBe(GREYLISTED);
    t.clock.advance(16 * MINUTE);
    await dir.write(
      'settings.py',
      settingsPy(
        ['greylisting'],
        "sqlite_db_path = 'other.sqlite'",
        'listen_port = 7999',
        "RECIPIENT_DELIMITERS = ['-']",
      ),
    );
    expect(await t.daemon.reload()).toEqual({
      ok: true,
      restartNeeded: ['listen_address/listen_port', 'RECIPIENT_DELIMITERS'],
    });
    // A new, empty database: the passed triplet is unknown there.
    expect(await client.ask({ instance: 'b' })).toBe(GREYLISTED);
    expect(existsSync(join(dir.path, 'other.sqlite'))).toBe(true);
    expect(t.log.messages()).toContain(
      'reload: listen_address/listen_port changed; restart the daemon to apply it',
    );
  });
});

describe('close (SIGTERM)', () => {
  it('answers a request in flight, then closes the connection and the databases', async () => {
    const t = await start(settingsPy(['greylisting']));
    t.dns.set('slow.test', { TXT: [['v=spf1 -all']], delayMs: 300 });
    const client = await policyClient(t.port);
    client.send({ sender: 'x@slow.test' });
    while (!t.dns.queries.some((q) => q.name === 'slow.test')) await new Promise((r) => setTimeout(r, 5));
    const closing = t.daemon.close();
    expect(await client.next()).toBe(GREYLISTED);
    await client.closed;
    await closing;
    expect(t.log.messages().at(-1)).toBe('policyd-iredapd stopped.');
    await expect(policyClient(t.port)).rejects.toThrow(/ECONNREFUSED/);
    expect((await t.daemon.reload()).ok).toBe(false);
  });
});
