import { join } from 'node:path';
import type { Logger } from '@policyd/core';
import type { ThrottleLimitEvent } from '@policyd/plugin-throttle';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../test/support/daemon-harness.ts';
import { fakeSendmail, type SmtpSink, startSmtpSink } from '../test/support/fake-mail.ts';
import type { NotificationConfig } from './settings/daemon-config.ts';
import { createThrottleMailer, throttleNoticeMessage, usesSmtp } from './throttle-mailer.ts';
import { throttleDetailedSetting, throttleNoticeBody, throttleNoticeSubject } from './throttle-notice.ts';

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

function recordingLogger(): Logger & { readonly lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (fieldsOrMsg: unknown, msg?: string): void => {
      if (typeof fieldsOrMsg === 'string') lines.push({ level, fields: {}, msg: fieldsOrMsg });
      else lines.push({ level, fields: fieldsOrMsg as Record<string, unknown>, msg: msg ?? '' });
    };
  const logger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger as Logger & { readonly lines: Line[] };
}

const EVENT: ThrottleLimitEvent = {
  rule: 'max_msgs',
  limit: 100,
  kind: 'outbound',
  account: 'alice@example.com',
  settingId: 7,
  periodSeconds: 3600,
  user: 'alice@example.com',
  trackingAccount: 'alice@example.com',
  clientAddress: '192.0.2.10',
  counters: { messages: 100, bytes: 5000, windowStartAt: 1_700_000_000, lastNotifiedAt: 0 },
  message: { sizeBytes: 50, recipients: 1 },
  rules: [
    { rule: 'msg_size', limit: 10_240_000, settingId: 3, account: '@example.com' },
    { rule: 'max_msgs', limit: 100, settingId: 7, account: 'alice@example.com' },
    { rule: 'max_quota', limit: 0, settingId: 3, account: '@example.com' },
  ],
  at: 1_700_000_000_000,
};

const QUOTA_EVENT: ThrottleLimitEvent = {
  ...EVENT,
  rule: 'max_quota',
  limit: 2048,
  kind: 'inbound',
  account: '@example.com',
  settingId: 3,
  rules: [{ rule: 'max_quota', limit: 2048, settingId: 3, account: '@example.com' }],
};

function notification(overrides: Partial<NotificationConfig['smtp']> = {}, sendmail = '/usr/sbin/sendmail') {
  return {
    recipients: ['root', 'postmaster@example.com'],
    senderName: 'No Reply',
    sendmail,
    smtp: {
      host: 'localhost',
      port: 587,
      starttls: true,
      user: 'no-reply@localhost.localdomain',
      password: '',
      debugLevel: 0,
      ...overrides,
    },
  } satisfies NotificationConfig;
}

/** The message with LF line ends and, when nodemailer chose quoted-printable, its body decoded. */
function readable(raw: string): string {
  const text = raw.replaceAll('\r\n', '\n');
  const split = text.indexOf('\n\n');
  if (!/^Content-Transfer-Encoding: quoted-printable$/im.test(text.slice(0, split))) return text;
  const body = text
    .slice(split + 2)
    .replaceAll('=\n', '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return `${text.slice(0, split)}\n\n${body}`;
}

const BODY = [
  '- User: alice@example.com',
  '- Client IP address: 192.0.2.10',
  '- Throttle type: outbound',
  '- Throttle setting: max_msgs',
  '- Limit: 100',
  '- Detailed setting: id=3/msg_size=10240000 (bytes)/account=@example.com; id=3/max_quota=0 (bytes)/account=@example.com; id=7/max_msgs=100/account=alice@example.com; ',
  '',
].join('\n');

describe("iRedAPD's notification text", () => {
  it('has the subject, without a unit for max_msgs and with bytes for max_quota', () => {
    expect(throttleNoticeSubject(EVENT)).toBe('Throttle quota exceeded: alice@example.com, max_msgs=100');
    expect(throttleNoticeSubject(QUOTA_EVENT)).toBe(
      'Throttle quota exceeded: alice@example.com, max_quota=2048 bytes',
    );
  });

  it('has the body lines, with the detailed setting grouped by setting', () => {
    expect(throttleNoticeBody(EVENT)).toBe(BODY);
    expect(throttleNoticeBody(QUOTA_EVENT)).toContain('- Throttle type: inbound\n');
    expect(throttleNoticeBody(QUOTA_EVENT)).toContain('- Limit: 2048 bytes\n');
    expect(throttleDetailedSetting(QUOTA_EVENT)).toBe('id=3/max_quota=2048 (bytes)/account=@example.com; ');
  });

  it('comes from NOTIFICATION_SENDER_NAME <NOTIFICATION_SMTP_USER> to NOTIFICATION_RECIPIENTS', () => {
    expect(throttleNoticeMessage(EVENT, notification())).toEqual({
      from: { name: 'No Reply', address: 'no-reply@localhost.localdomain' },
      to: ['root', 'postmaster@example.com'],
      subject: 'Throttle quota exceeded: alice@example.com, max_msgs=100',
      text: BODY,
    });
  });

  it('uses SMTP only when server, port, user and password are all set', () => {
    expect(usesSmtp(notification())).toBe(false);
    expect(usesSmtp(notification({ password: 'x' }))).toBe(true);
    expect(usesSmtp(notification({ password: 'x', host: '' }))).toBe(false);
    expect(usesSmtp(notification({ password: 'x', user: '' }))).toBe(false);
    expect(usesSmtp(notification({ password: 'x', port: 0 }))).toBe(false);
  });
});

describe('createThrottleMailer', () => {
  let dir: TempDir;
  let sink: SmtpSink | undefined;

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
    await dir.remove();
  });

  it('pipes the message to CMD_SENDMAIL -f <from> <recipients> when no SMTP password is set', async () => {
    const sendmail = await fakeSendmail(dir.path);
    const logger = recordingLogger();
    const mailer = createThrottleMailer({ logger });
    expect(mailer.notify(EVENT, notification({}, sendmail.path))).toBeUndefined();
    await mailer.idle();

    const calls = await sendmail.calls();
    expect(calls).toHaveLength(1);
    // nodemailer always adds -i (a lone dot does not end the message), which sendmail treats as harmless.
    expect(calls[0]?.args).toEqual([
      '-i',
      '-f',
      'no-reply@localhost.localdomain',
      'root',
      'postmaster@example.com',
    ]);
    const mail = readable(calls[0]?.stdin ?? '');
    expect(mail).toMatch(/^From: No Reply <no-reply@localhost\.localdomain>$/m);
    // nodemailer brackets a recipient without a domain; sendmail reads it the same way.
    expect(mail).toMatch(/^To: <root>, postmaster@example\.com$/m);
    expect(mail).toMatch(/^Subject: Throttle quota exceeded: alice@example\.com, max_msgs=100$/m);
    expect(mail).toMatch(/^Date: /m);
    expect(mail.endsWith(`\n\n${BODY}`)).toBe(true);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'info',
        msg: 'Sent notification email to admin(s) to report quota exceed: user=alice@example.com, max_msgs=100.',
      }),
    );
  });

  it('submits over SMTP with login when server, port, user and password are set (STARTTLS off)', async () => {
    sink = await startSmtpSink();
    const logger = recordingLogger();
    const mailer = createThrottleMailer({ logger });
    mailer.notify(
      QUOTA_EVENT,
      notification({
        host: '127.0.0.1',
        port: sink.port,
        starttls: false,
        user: 'alerts@example.com',
        password: 's3cret',
        debugLevel: 1,
      }),
    );
    await mailer.idle();

    expect(sink.messages).toHaveLength(1);
    const [message] = sink.messages;
    expect(message?.auth).toEqual({ user: 'alerts@example.com', pass: 's3cret' });
    expect(message?.from).toBe('alerts@example.com');
    expect(message?.to).toEqual(['root', 'postmaster@example.com']);
    const mail = readable(message?.data ?? '');
    expect(mail).toMatch(/^From: No Reply <alerts@example\.com>$/m);
    expect(mail).toMatch(/^Subject: Throttle quota exceeded: alice@example\.com, max_quota=2048 bytes$/m);
    expect(mail.endsWith(`\n\n${throttleNoticeBody(QUOTA_EVENT)}`)).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    // NOTIFICATION_SMTP_DEBUG_LEVEL: the dialogue at debug level, the password masked.
    const debug = logger.lines.filter((l) => l.level === 'debug').map((l) => l.msg);
    expect(debug.some((msg) => msg.includes('MAIL FROM:<alerts@example.com>'))).toBe(true);
    const plain = Buffer.from('\0alerts@example.com\0s3cret').toString('base64');
    expect(debug.filter((msg) => msg.includes('s3cret') || msg.includes(plain))).toEqual([]);
  });

  it('takes the settings of each call, so a reload applies to the next e-mail', async () => {
    const first = await fakeSendmail(join(dir.path, 'a'));
    const second = await fakeSendmail(join(dir.path, 'b'));
    const mailer = createThrottleMailer({ logger: recordingLogger() });
    mailer.notify(EVENT, notification({}, first.path));
    await mailer.idle();
    mailer.notify(EVENT, { ...notification({}, second.path), recipients: ['admin@example.com'] });
    await mailer.idle();
    expect(await first.calls()).toHaveLength(1);
    expect((await second.calls())[0]?.args.at(-1)).toBe('admin@example.com');
  });

  it('logs a missing sendmail, a failing one, a refused SMTP connection and a server without STARTTLS', async () => {
    const failing = await fakeSendmail(dir.path, { exitCode: 75 });
    sink = await startSmtpSink();
    const closed = await startSmtpSink();
    const closedPort = closed.port;
    await closed.close();
    const logger = recordingLogger();
    const mailer = createThrottleMailer({ logger, concurrency: 4 });

    mailer.notify(EVENT, notification({}, join(dir.path, 'no-such-sendmail')));
    mailer.notify(EVENT, notification({}, failing.path));
    mailer.notify(
      EVENT,
      notification({ host: '127.0.0.1', port: closedPort, starttls: false, password: 'x' }),
    );
    mailer.notify(EVENT, notification({ host: '127.0.0.1', port: sink.port, starttls: true, password: 'x' }));
    await mailer.idle();

    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(4);
    for (const line of errors) expect(line.msg).toMatch(/^Error while sending notification email: /);
    expect(errors.map((l) => l.msg).join('\n')).toMatch(/ECONNREFUSED/);
    expect(errors.map((l) => l.msg).join('\n')).toMatch(/STARTTLS/);
    expect(sink.messages).toEqual([]);
    expect(logger.lines.filter((l) => l.msg.startsWith('Sent notification'))).toEqual([]);
  });

  it('sends a few at a time and drops what does not fit in the queue, with a warning', async () => {
    const sendmail = await fakeSendmail(dir.path, { delaySeconds: 0.2 });
    const logger = recordingLogger();
    const mailer = createThrottleMailer({ logger, concurrency: 1, maxQueued: 1 });
    const config = notification({}, sendmail.path);
    mailer.notify(EVENT, config);
    mailer.notify(QUOTA_EVENT, config);
    mailer.notify({ ...EVENT, user: 'carol@example.com' }, config);
    await mailer.idle();

    const calls = await sendmail.calls();
    expect(calls.map((c) => /^Subject: (.*)$/m.exec(c.stdin)?.[1])).toEqual([
      'Throttle quota exceeded: alice@example.com, max_msgs=100',
      'Throttle quota exceeded: alice@example.com, max_quota=2048 bytes',
    ]);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'throttle notification dropped: too many e-mails waiting',
      }),
    );
  });

  it('on close, finishes the e-mail being sent, drops the queued ones and refuses new ones', async () => {
    const sendmail = await fakeSendmail(dir.path, { delaySeconds: 0.2 });
    const logger = recordingLogger();
    const mailer = createThrottleMailer({ logger, concurrency: 1 });
    const config = notification({}, sendmail.path);
    mailer.notify(EVENT, config);
    mailer.notify(QUOTA_EVENT, config);
    await mailer.close();
    mailer.notify(EVENT, config);
    await mailer.idle();

    expect(await sendmail.calls()).toHaveLength(1);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'throttle notifications not sent: shutting down',
      'throttle notification not sent: shutting down',
    ]);
  });
});
