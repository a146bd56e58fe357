/**
 * End-to-end: real Postfix (a private instance, see postfix.ts) asks a policy server over
 * `check_policy_service` at RCPT and END-OF-MESSAGE, and the tests assert on Postfix's own SMTP replies.
 *
 * The policy server here is built from @policyd/core with small inline plugins, so the harness itself is
 * proven; the daemon's own suite points the same harness at the daemon.
 */

import { access, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPolicy,
  createServer,
  Decision,
  definePlugin,
  type PolicyRequest,
  type PolicyServer,
} from '@policyd/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
const SIZE_LIMIT = 2_000;
const CLIENT: XclientAttributes = { addr: '192.0.2.10', name: 'mail.sender.test', helo: 'mail.sender.test' };

describe.skipIf(!availability.available)('behind real Postfix', () => {
  const requests: PolicyRequest[] = [];
  const greylist = new Set<string>();
  let server: PolicyServer;
  let daemon: PolicyDaemon;
  let postfix: PostfixInstance;
  let etcBefore: string[];

  const plugins = [
    definePlugin({
      name: 'recorder',
      priority: 1_000,
      states: ['RCPT', 'END-OF-MESSAGE'],
      check: (req) => {
        requests.push(req);
        return Decision.dunno();
      },
    }),
    definePlugin({
      name: 'reject_null_sender',
      priority: 100,
      check: (req) =>
        req.sender.address === '' && req.saslUsername.address !== ''
          ? Decision.reject('Policy rejection due to null sender')
          : Decision.dunno(),
    }),
    definePlugin({
      name: 'blacklist',
      priority: 90,
      check: (req) => (req.sender.domain === 'spam.test' ? Decision.reject('Blacklisted') : Decision.dunno()),
    }),
    // Greylists mail to example.net only: the first attempt of a triplet is deferred, a retry passes.
    definePlugin({
      name: 'greylisting',
      priority: 80,
      check: (req) => {
        if (req.recipient.domain !== 'example.net') return Decision.dunno();
        const triplet = `${req.clientAddress}/${req.sender.address}/${req.recipient.address}`;
        if (greylist.has(triplet)) return Decision.dunno();
        greylist.add(triplet);
        return Decision.reply(451, GREYLIST_REPLY, '4.7.1');
      },
    }),
    definePlugin({
      name: 'throttle',
      priority: 70,
      states: ['END-OF-MESSAGE'],
      check: (req) =>
        req.size > SIZE_LIMIT ? Decision.reject('Throttling quota exceeded') : Decision.dunno(),
    }),
  ];

  beforeAll(async () => {
    if (!availability.available) return;
    etcBefore = await snapshot('/etc/postfix');
    server = createServer(await createPolicy({ plugins }));
    const bound = await server.listen({ host: '127.0.0.1', port: 0 });
    if (!('port' in bound)) throw new Error('expected a TCP address');
    const daemonPort = await freeLoopbackPort();
    daemon = await spawnPolicyDaemon({
      args: [fileURLToPath(new URL('./fixtures/policy-daemon.ts', import.meta.url))],
      env: { POLICYD_E2E_PORT: String(daemonPort) },
      port: daemonPort,
    });
    postfix = await startPostfix(availability.installation, {
      policy: { port: bound.port },
      // main fails open; strict keeps Postfix's built-in default action (451 4.3.5); custom has its own;
      // daemon asks the separate daemon process, with the built-in default action.
      listeners: {
        main: { defaultAction: 'DUNNO' },
        strict: {},
        custom: { defaultAction: '450 4.7.0 Policy service down, try later' },
        daemon: { policy: { port: daemonPort } },
      },
    });
  }, 120_000);

  // Postfix first: its stop() never throws, so a failure below cannot leave it running.
  afterAll(async () => {
    await postfix?.stop();
    await daemon?.stop('SIGKILL');
    await server?.close();
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

  it('passes the XCLIENT client to the policy service and delivers accepted mail to discard', async () => {
    const smtp = await session(CLIENT);
    expect((await smtp.mailFrom('alice@sender.test')).code).toBe(250);
    expect(await smtp.rcptTo('bob@example.com')).toMatchObject({ code: 250, status: '2.1.5' });
    const { end } = await smtp.data('Subject: hello\n\nhello\n.leading dot\n');
    await smtp.quit();
    expect(end).toMatchObject({ code: 250, status: '2.0.0' });
    const queueId = /queued as ([0-9A-F]+)/.exec(end?.text ?? '')?.[1];
    expect(queueId).toBeDefined();

    const rcpt = requests.find(
      (r) => r.protocolState === 'RCPT' && r.recipient.address === 'bob@example.com',
    );
    expect(rcpt).toMatchObject({
      clientAddress: '192.0.2.10',
      clientName: 'mail.sender.test',
      heloName: 'mail.sender.test',
      sender: { address: 'alice@sender.test' },
      saslUsername: { address: '' },
    });
    const eom = requests.find((r) => r.protocolState === 'END-OF-MESSAGE' && r.queueId === queueId);
    expect(eom).toMatchObject({ recipientCount: 1, instance: rcpt?.instance });
    expect(eom?.size).toBeGreaterThan(0);
    await postfix.waitForLog(new RegExp(`${queueId}: to=<bob@example.com>, relay=none, .*status=sent`));
  });

  it('defers the first attempt of a triplet with 451 4.7.1 and accepts the retry', async () => {
    const first = await session(CLIENT);
    expect((await first.mailFrom('carol@sender.test')).code).toBe(250);
    const deferred = await first.rcptTo('dave@example.net');
    await first.quit();
    expect(deferred).toMatchObject({ code: 451, status: '4.7.1' });
    expect(deferred.text).toBe(`<dave@example.net>: Recipient address rejected: ${GREYLIST_REPLY}`);

    const retry = await session(CLIENT);
    expect((await retry.mailFrom('carol@sender.test')).code).toBe(250);
    expect((await retry.rcptTo('dave@example.net')).code).toBe(250);
    const { end } = await retry.data('Subject: retry\n\nsecond attempt\n');
    await retry.quit();
    expect(end?.code).toBe(250);
  });

  it('rejects a blacklisted sender with 554 5.7.1', async () => {
    const smtp = await session(CLIENT);
    expect((await smtp.mailFrom('spammer@spam.test')).code).toBe(250);
    const reply = await smtp.rcptTo('bob@example.com');
    await smtp.quit();
    expect(reply).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<bob@example.com>: Recipient address rejected: Blacklisted',
    });
  });

  it('rejects a message over the size limit at END-OF-MESSAGE', async () => {
    const smtp = await session(CLIENT);
    expect((await smtp.mailFrom('erin@sender.test')).code).toBe(250);
    expect((await smtp.rcptTo('frank@example.com')).code).toBe(250);
    const { start, end } = await smtp.data(`Subject: big\n\n${'x'.repeat(70)}\n`.repeat(40));
    await smtp.quit();
    expect(start.code).toBe(354);
    expect(end).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<END-OF-MESSAGE>: End-of-data rejected: Throttling quota exceeded',
    });
    const eom = requests.findLast((r) => r.protocolState === 'END-OF-MESSAGE');
    expect(eom?.size).toBeGreaterThan(SIZE_LIMIT);
  });

  it('rejects the null sender of an authenticated (XCLIENT LOGIN) client, not of an anonymous one', async () => {
    const authenticated = await session({ ...CLIENT, login: 'alice@example.com' });
    expect((await authenticated.mailFrom('')).code).toBe(250);
    const rejected = await authenticated.rcptTo('bob@example.com');
    await authenticated.quit();
    expect(rejected).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<bob@example.com>: Recipient address rejected: Policy rejection due to null sender',
    });
    const rcpt = requests.findLast((r) => r.protocolState === 'RCPT');
    expect(rcpt).toMatchObject({ saslMethod: 'XCLIENT', saslUsername: { address: 'alice@example.com' } });

    const anonymous = await session(CLIENT);
    expect((await anonymous.mailFrom('')).code).toBe(250);
    expect((await anonymous.rcptTo('bob@example.com')).code).toBe(250);
    await anonymous.quit();
  });

  it('applies the default action when the policy service is stopped', async () => {
    await server.close();

    const open = await session(CLIENT);
    expect((await open.mailFrom('grace@sender.test')).code).toBe(250);
    expect((await open.rcptTo('heidi@example.com')).code).toBe(250);
    const { end } = await open.data('Subject: fail open\n\nDUNNO\n');
    await open.quit();
    expect(end?.code).toBe(250);

    const strict = await session(CLIENT, 'strict');
    expect((await strict.mailFrom('grace@sender.test')).code).toBe(250);
    const reply = await strict.rcptTo('heidi@example.com');
    await strict.quit();
    expect(reply).toMatchObject({
      code: 451,
      status: '4.3.5',
      text: '<heidi@example.com>: Recipient address rejected: Server configuration problem',
    });

    const custom = await session(CLIENT, 'custom');
    expect((await custom.mailFrom('grace@sender.test')).code).toBe(250);
    const customReply = await custom.rcptTo('heidi@example.com');
    await custom.quit();
    expect(customReply).toMatchObject({
      code: 450,
      status: '4.7.0',
      text: '<heidi@example.com>: Recipient address rejected: Policy service down, try later',
    });
    await postfix.waitForLog(/warning: problem talking to server 127\.0\.0\.1:\d+/);
  });

  it('asks a daemon process, which answers in-flight requests on SIGTERM; then the default action', async () => {
    const authenticated = await session({ ...CLIENT, login: 'alice@example.com' }, 'daemon');
    expect((await authenticated.mailFrom('')).code).toBe(250);
    expect(await authenticated.rcptTo('bob@example.com')).toMatchObject({
      code: 554,
      text: '<bob@example.com>: Recipient address rejected: Policy rejection due to null sender',
    });
    await authenticated.quit();

    const slow = await session(CLIENT, 'daemon');
    expect((await slow.mailFrom('slow@sender.test')).code).toBe(250);
    const pending = slow.rcptTo('ivan@example.com');
    await daemon.waitForOutput(/slow request for ivan@example\.com/);
    const exit = daemon.stop('SIGTERM');
    expect(await pending).toMatchObject({
      code: 554,
      status: '5.7.1',
      text: '<ivan@example.com>: Recipient address rejected: Answered after a delay',
    });
    await slow.quit();
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(daemon.output()).toMatch(/SIGTERM: closing\nclosed\n/);

    const after = await session(CLIENT, 'daemon');
    expect((await after.mailFrom('judy@sender.test')).code).toBe(250);
    expect(await after.rcptTo('bob@example.com')).toMatchObject({ code: 451, status: '4.3.5' });
    await after.quit();
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
    const dir = /postfix -c (\S+)\/config check failed/.exec(message)?.[1];
    expect(dir).toMatch(/policyd-postfix-/);
    await expect(access(dir ?? '')).rejects.toThrow(/ENOENT/);
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
