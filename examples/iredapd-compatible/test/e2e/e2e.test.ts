/**
 * End-to-end: real Postfix (a private instance, see postfix.ts) asks policyd-iredapd over
 * `check_policy_service` at RCPT and END-OF-MESSAGE, and the tests assert on Postfix's own SMTP replies.
 *
 * The daemon runs twice: in-process through `startDaemon` (a settings.py with the four plugins, SQLite, a
 * clock the greylisting test moves past the block time, fake DNS), and as a separate process through its
 * command line (a test stops it with SIGTERM while a request is in flight).
 */

import { access, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createThrottleAdmin } from '@policyd/plugin-throttle';
import { createWblistAdmin } from '@policyd/plugin-wblist';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  settingsPy,
  startTestDaemon,
  type TempDir,
  type TestDaemon,
  tempDir,
} from '../support/daemon-harness.ts';
import { ensurePostfix } from './install-postfix.ts';
import { type PolicyDaemon, spawnPolicyDaemon } from './policy-daemon.ts';
import { freeLoopbackPort, type PostfixInstance, startPostfix } from './postfix.ts';
import { connectSmtp, type SmtpClient, type XclientAttributes } from './smtp-client.ts';

const ci = !['', '0', 'false'].includes(process.env.CI ?? '');
// POLICYD_E2E_INSTALL=0: never run apt-get from the tests (the suite then skips, or fails under CI).
const availability = await ensurePostfix({
  install: process.env.POLICYD_E2E_INSTALL !== '0',
  log: (line) => console.log(`[postfix e2e] ${line}`),
});
if (!availability.available) {
  if (ci) throw new Error(`the Postfix end-to-end tests must run under CI, but: ${availability.reason}`);
  console.warn(`[postfix e2e] SKIPPED: ${availability.reason} (under CI=true this is a failure)`);
}

const GREYLIST_REPLY = 'Intentional policy rejection, please try again later';
const CLIENT: XclientAttributes = { addr: '192.0.2.10', name: 'mail.sender.test', helo: 'mail.sender.test' };
const ALICE: XclientAttributes = { ...CLIENT, login: 'alice@example.com' };
// iRedAPD's documented way to let amavisd_wblist answer before greylisting.
const SETTINGS = settingsPy(
  ['reject_null_sender', 'amavisd_wblist', 'greylisting', 'throttle'],
  "PLUGIN_PRIORITIES['amavisd_wblist'] = 90",
  'GREYLISTING_BLOCK_EXPIRE = 15',
);

describe.skipIf(!availability.available)('behind real Postfix', () => {
  let dir: TempDir;
  let policy: TestDaemon;
  let daemonProcess: PolicyDaemon;
  let postfix: PostfixInstance;
  let etcBefore: string[];

  beforeAll(async () => {
    if (!availability.available) return;
    etcBefore = await snapshot('/etc/postfix');
    dir = await tempDir();
    const config = await dir.write('settings.py', SETTINGS);
    policy = await startTestDaemon({ config });
    const admin = await policy.admin();
    const wblist = createWblistAdmin(admin.wblist);
    await wblist.add({ list: 'blacklist', addresses: ['@spam.test'] });
    await wblist.add({ list: 'whitelist', addresses: ['friend@partner.test'] });
    await createThrottleAdmin(admin.throttle).set({
      account: 'alice@example.com',
      kind: 'outbound',
      periodSeconds: 3600,
      maxMessages: 2,
    });

    const processPort = await freeLoopbackPort();
    const processConfig = await dir.write(
      'process-settings.py',
      settingsPy(
        ['reject_null_sender', 'greylisting'],
        "sqlite_db_path = 'process.sqlite'",
        `listen_port = ${processPort}`,
      ),
    );
    daemonProcess = await spawnPolicyDaemon({
      args: [
        '--import',
        fileURLToPath(new URL('../support/source-hooks.ts', import.meta.url)),
        fileURLToPath(new URL('./fixtures/iredapd-daemon.ts', import.meta.url)),
        '--config',
        processConfig,
      ],
      port: processPort,
    });
    postfix = await startPostfix(availability.installation, {
      policy: { port: policy.port },
      // main fails open; strict keeps Postfix's built-in default action (451 4.3.5); custom has its own;
      // process asks the daemon process, with the built-in default action.
      listeners: {
        main: { defaultAction: 'DUNNO' },
        strict: {},
        custom: { defaultAction: '450 4.7.0 Policy service down, try later' },
        process: { policy: { port: processPort } },
      },
    });
  }, 120_000);

  // Postfix first: its stop() never throws, so a failure below cannot leave it running.
  afterAll(async () => {
    await postfix?.stop();
    await daemonProcess?.stop('SIGKILL');
    await policy?.stop();
    await dir?.remove();
  }, 30_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && postfix !== undefined) {
      console.error(
        `[postfix e2e] Postfix log (${postfix.directory}):\n${(await postfix.log()).slice(-6_000)}`,
      );
    }
  });

  async function session(client: XclientAttributes, listener = 'main'): Promise<SmtpClient> {
    const smtp = await connectSmtp({ port: postfix.port(listener) });
    expect((await smtp.ehlo('e2e.policyd.test')).code).toBe(250);
    expect((await smtp.xclient(client)).code).toBe(220);
    expect((await smtp.ehlo(client.helo ?? 'e2e.policyd.test')).code).toBe(250);
    return smtp;
  }

  async function smtpSessions(): Promise<Record<string, unknown>[]> {
    await policy.daemon.flushSmtpSessions();
    const admin = await policy.admin();
    return (await admin.databases.iredapd.knex('smtp_sessions').select().orderBy('id')) as Record<
      string,
      unknown
    >[];
  }

  it('defers the first attempt of a triplet with 451 4.7.1 and accepts the retry after the block time', async () => {
    const first = await session(CLIENT);
    expect((await first.mailFrom('carol@sender.test')).code).toBe(250);
    const deferred = await first.rcptTo('dave@example.net');
    await first.quit();
    expect(deferred).toMatchObject({ code: 451, status: '4.7.1' });
    expect(deferred.text).toBe(`<dave@example.net>: Recipient address rejected: ${GREYLIST_REPLY}`);

    const early = await session(CLIENT);
    expect((await early.mailFrom('carol@sender.test')).code).toBe(250);
    expect((await early.rcptTo('dave@example.net')).code).toBe(451);
    await early.quit();

    policy.clock.advance(15 * 60_000 + 1_000);
    const retry = await session(CLIENT);
    expect((await retry.mailFrom('carol@sender.test')).code).toBe(250);
    expect((await retry.rcptTo('dave@example.net')).code).toBe(250);
    const { end } = await retry.data('Subject: retry\n\nsecond attempt\n');
    await retry.quit();
    expect(end?.code).toBe(250);
    const queueId = /queued as ([0-9A-F]+)/.exec(end?.text ?? '')?.[1];
    await postfix.waitForLog(new RegExp(`${queueId}: to=<dave@example.net>, relay=none, .*status=sent`));

    // What the daemon saw: the XCLIENT client, logged in iRedAPD's words and in smtp_sessions.
    const line = policy.log.messages().find((m) => m.startsWith('[192.0.2.10] RCPT, carol@sender.test'));
    expect(line).toMatch(
      new RegExp(
        `^\\[192\\.0\\.2\\.10\\] RCPT, carol@sender\\.test -> dave@example\\.net, 451 4\\.7\\.1 ${GREYLIST_REPLY} ` +
          '\\[sasl_username=, sender=carol@sender\\.test, client_name=mail\\.sender\\.test, ' +
          'reverse_client_name=mail\\.sender\\.test, helo=mail\\.sender\\.test, encryption_protocol=, ' +
          `encryption_cipher=, server_port=${postfix.port('main')}, plugin=greylisting, process_time=\\d+\\.\\d{4}s\\]$`,
      ),
    );
    const rows = (await smtpSessions()).filter((r) => r.sender === 'carol@sender.test');
    expect(rows.map((r) => [r.action, r.recipient])).toEqual([
      ['451', 'dave@example.net'],
      ['451', 'dave@example.net'],
      ['DUNNO', 'dave@example.net'],
    ]);
    expect(rows[2]).toMatchObject({
      client_address: '192.0.2.10',
      client_name: 'mail.sender.test',
      helo_name: 'mail.sender.test',
      sender_domain: 'sender.test',
      server_port: String(postfix.port('main')),
    });
  });

  it('rejects a blacklisted sender with 554 5.7.1 and accepts a whitelisted one at once', async () => {
    const smtp = await session(CLIENT);
    expect((await smtp.mailFrom('spammer@spam.test')).code).toBe(250);
    expect(await smtp.rcptTo('bob@example.com')).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<bob@example.com>: Recipient address rejected: Blacklisted',
    });
    await smtp.quit();

    const friend = await session(CLIENT);
    expect((await friend.mailFrom('friend@partner.test')).code).toBe(250);
    expect((await friend.rcptTo('bob@example.com')).code).toBe(250);
    const { end } = await friend.data('Subject: hello\n\nwhitelisted, not greylisted\n');
    await friend.quit();
    expect(end?.code).toBe(250);
  });

  it('rejects the message over the throttle limit at END-OF-MESSAGE, after 354', async () => {
    for (let i = 1; i <= 3; i++) {
      const smtp = await session(ALICE);
      expect((await smtp.mailFrom('alice@example.com')).code).toBe(250);
      expect((await smtp.rcptTo('frank@example.org')).code).toBe(250);
      const { start, end } = await smtp.data(`Subject: message ${i}\n\nhello\n`);
      await smtp.quit();
      expect(start.code).toBe(354);
      if (i <= 2) expect(end?.code).toBe(250);
      else {
        expect(end).toMatchObject({
          code: 554,
          status: '5.7.1',
          text: '<END-OF-MESSAGE>: End-of-data rejected: Throttling quota exceeded',
        });
      }
    }
    expect(policy.log.messages()).toContain('Throttle quota exceeded: alice@example.com, max_msgs=2');
  });

  it('rejects the null sender of an authenticated (XCLIENT LOGIN) client, not of an anonymous one', async () => {
    const authenticated = await session(ALICE);
    expect((await authenticated.mailFrom('')).code).toBe(250);
    expect(await authenticated.rcptTo('bob@example.com')).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<bob@example.com>: Recipient address rejected: Policy rejection due to null sender',
    });
    await authenticated.quit();

    // Anonymous bounces are greylisted like any other new triplet, not rejected.
    const anonymous = await session({ ...CLIENT, addr: '192.0.2.11' });
    expect((await anonymous.mailFrom('')).code).toBe(250);
    expect((await anonymous.rcptTo('bob@example.com')).code).toBe(451);
    await anonymous.quit();
  });

  it('the daemon process answers a request in flight on SIGTERM, exits 0; then the default action', async () => {
    const slow = await session(CLIENT, 'process');
    expect((await slow.mailFrom('x@slow.test')).code).toBe(250);
    const pending = slow.rcptTo('ivan@example.com');
    await daemonProcess.waitForOutput(/slow DNS query for slow\.test/);
    const exit = daemonProcess.stop('SIGTERM');
    expect(await pending).toMatchObject({ code: 451, status: '4.7.1' });
    await slow.quit();
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(daemonProcess.output()).toMatch(/SIGTERM received: closing/);
    expect(daemonProcess.output()).toMatch(/policyd-iredapd stopped\./);

    const after = await session(CLIENT, 'process');
    expect((await after.mailFrom('judy@sender.test')).code).toBe(250);
    expect(await after.rcptTo('bob@example.com')).toMatchObject({ code: 451, status: '4.3.5' });
    await after.quit();
  });

  it('applies the default action when the daemon is stopped', async () => {
    await policy.daemon.close();

    const open = await session(CLIENT);
    expect((await open.mailFrom('grace@sender.test')).code).toBe(250);
    expect((await open.rcptTo('heidi@example.com')).code).toBe(250);
    const { end } = await open.data('Subject: fail open\n\nDUNNO\n');
    await open.quit();
    expect(end?.code).toBe(250);

    const strict = await session(CLIENT, 'strict');
    expect((await strict.mailFrom('grace@sender.test')).code).toBe(250);
    expect(await strict.rcptTo('heidi@example.com')).toMatchObject({
      code: 451,
      status: '4.3.5',
      text: '<heidi@example.com>: Recipient address rejected: Server configuration problem',
    });
    await strict.quit();

    const custom = await session(CLIENT, 'custom');
    expect((await custom.mailFrom('grace@sender.test')).code).toBe(250);
    expect(await custom.rcptTo('heidi@example.com')).toMatchObject({
      code: 450,
      status: '4.7.0',
      text: '<heidi@example.com>: Recipient address rejected: Policy service down, try later',
    });
    await custom.quit();
    await postfix.waitForLog(/warning: problem talking to server 127\.0\.0\.1:\d+/);
  });

  it('reports a configuration Postfix refuses, and leaves nothing behind', async () => {
    if (!availability.available) return;
    const error = await startPostfix(availability.installation, {
      policy: { port: 9 },
      mainCf: { mail_owner: 'no_such_user' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    // The reason comes from Postfix itself (captured on a terminal: it is not in any log).
    expect(message).toMatch(
      /check failed:\n.*fatal: .*parameter mail_owner: unknown user name value: no_such_user/,
    );
    const directory = /postfix -c (\S+)\/config check failed/.exec(message)?.[1];
    expect(directory).toMatch(/policyd-postfix-/);
    await expect(access(directory ?? '')).rejects.toThrow(/ENOENT/);
  });

  it('leaves /etc/postfix untouched', async () => {
    expect(await snapshot('/etc/postfix')).toEqual(etcBefore);
  });
});

// Name, size and modification time of every entry under dir (empty if dir does not exist).
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const out: string[] = [];
  for (const entry of entries.sort()) {
    const info = await lstat(join(dir, entry));
    out.push(`${entry} ${info.size} ${info.mtimeMs}`);
  }
  return out;
}
