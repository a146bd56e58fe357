/**
 * iRedAPD's throttle notification e-mail, sent in the background: SMTP submission (STARTTLS, login) when
 * `NOTIFICATION_SMTP_SERVER`, `_PORT`, `_USER` and `_PASSWORD` are all set, otherwise piped to `CMD_SENDMAIL -f
 * <from> <recipients>`. A small queue with a few concurrent sends keeps a burst from piling up sockets or
 * processes; failures are logged, never thrown into a request.
 */

import { format } from 'node:util';
import type { Logger } from '@policyd/core';
import type { ThrottleLimitEvent } from '@policyd/plugin-throttle';
import type { Transporter } from 'nodemailer';
import type { NotificationConfig } from './settings/daemon-config.ts';
import { throttleNoticeBody, throttleNoticeSubject } from './throttle-notice.ts';

/** Options of {@link createThrottleMailer}. */
export interface ThrottleMailerOptions {
  /** Where sends and failures are logged. */
  readonly logger: Logger;
  /** E-mails being sent at once; default 2. */
  readonly concurrency?: number;
  /** E-mails waiting for a free slot; more are dropped with a warning. Default 100. */
  readonly maxQueued?: number;
  /** SMTP connect, greeting and idle timeouts in milliseconds; default 15 000. */
  readonly smtpTimeoutMs?: number;
}

/** Sends throttle notifications in the background. */
export interface ThrottleMailer {
  /** Queue the e-mail for `event` with the settings in `config`; returns at once and never throws. */
  notify(event: ThrottleLimitEvent, config: NotificationConfig): void;
  /** Resolves when nothing is queued or being sent. */
  idle(): Promise<void>;
  /** Stop taking e-mails, drop the queued ones (logged) and wait for those being sent. Idempotent. */
  close(): Promise<void>;
}

/** The e-mail for one event, before delivery. */
export interface ThrottleNoticeMessage {
  /** `"<NOTIFICATION_SENDER_NAME>" <NOTIFICATION_SMTP_USER>`, as a name and an address. */
  readonly from: { readonly name: string; readonly address: string };
  /** `NOTIFICATION_RECIPIENTS`. */
  readonly to: readonly string[];
  /** iRedAPD's subject. */
  readonly subject: string;
  /** iRedAPD's body lines. */
  readonly text: string;
}

/** The message iRedAPD sends for `event`. */
export function throttleNoticeMessage(
  event: ThrottleLimitEvent,
  config: NotificationConfig,
): ThrottleNoticeMessage {
  return {
    from: { name: config.senderName, address: config.smtp.user },
    to: config.recipients,
    subject: throttleNoticeSubject(event),
    text: throttleNoticeBody(event),
  };
}

/** True when iRedAPD would use SMTP: server, port, user and password all set (the password defaults to ''). */
export function usesSmtp(config: NotificationConfig): boolean {
  const { host, port, user, password } = config.smtp;
  return host !== '' && port > 0 && user !== '' && password !== '';
}

/** nodemailer's bunyan-style logger, onto `debug` of ours (`NOTIFICATION_SMTP_DEBUG_LEVEL` > 0 only). */
function transportLogger(
  logger: Logger,
): Record<string, (data: unknown, msg?: string, ...args: unknown[]) => void> {
  const line = (_data: unknown, msg?: string, ...args: unknown[]): void => {
    logger.debug(format(msg ?? '', ...args));
  };
  return { trace: line, debug: line, info: line, warn: line, error: line, fatal: line };
}

async function createTransport(
  config: NotificationConfig,
  logger: Logger,
  timeoutMs: number,
): Promise<Transporter> {
  // Loaded with the first notification, not at start: most daemons never send one, and nodemailer's code and
  // data would stay in the daemon's memory for nothing (≈ 2.5 MB of heap, more of RSS).
  const { default: nodemailer } = await import('nodemailer');
  const debug = config.smtp.debugLevel > 0;
  if (!usesSmtp(config)) {
    return nodemailer.createTransport({
      sendmail: true,
      path: config.sendmail,
      args: ['-f', config.smtp.user],
      logger: debug ? transportLogger(logger) : false,
    });
  }
  return nodemailer.createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    // iRedAPD connects in plain text and upgrades with STARTTLS only when asked.
    secure: false,
    requireTLS: config.smtp.starttls,
    ignoreTLS: !config.smtp.starttls,
    // iRedAPD's smtplib does not verify the certificate, and the default server is localhost with iRedMail's
    // self-signed one: verifying would break installations that work today.
    tls: { rejectUnauthorized: false },
    auth: { user: config.smtp.user, pass: config.smtp.password },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: debug ? transportLogger(logger) : false,
    transactionLog: debug,
  });
}

interface Job {
  readonly event: ThrottleLimitEvent;
  readonly config: NotificationConfig;
}

/**
 * A mailer for throttle notifications. The daemon passes each generation's `NotificationConfig`, so a reload
 * applies new `NOTIFICATION_*` settings to the next e-mail.
 *
 * @example
 * ```ts
 * const mailer = createThrottleMailer({ logger });
 * throttle({ store, domains, onLimitExceeded: (event) => mailer.notify(event, config.notification) });
 * // on shutdown
 * await mailer.close();
 * ```
 */
export function createThrottleMailer(options: ThrottleMailerOptions): ThrottleMailer {
  const { logger } = options;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const maxQueued = Math.max(0, options.maxQueued ?? 100);
  const timeoutMs = options.smtpTimeoutMs ?? 15_000;
  const queue: Job[] = [];
  const sending = new Set<Promise<void>>();
  let idleWaiters: (() => void)[] = [];
  let closed = false;

  async function send({ event, config }: Job): Promise<void> {
    const message = throttleNoticeMessage(event, config);
    let transport: Transporter | undefined;
    try {
      transport = await createTransport(config, logger, timeoutMs);
      await transport.sendMail({
        from: message.from,
        // As address objects and an explicit envelope: nodemailer would read iRedAPD's default recipient
        // `root` (no domain) as a display name and drop it.
        to: message.to.map((address) => ({ name: '', address })),
        envelope: { from: message.from.address, to: [...message.to] },
        subject: message.subject,
        text: message.text,
      });
      logger.info(
        {
          user: event.user,
          rule: event.rule,
          limit: event.limit,
          via: usesSmtp(config) ? 'smtp' : 'sendmail',
        },
        `Sent notification email to admin(s) to report quota exceed: user=${event.user}, ${event.rule}=${event.limit}.`,
      );
    } catch (err) {
      logger.error(
        { err, user: event.user, rule: event.rule, limit: event.limit },
        `Error while sending notification email: ${(err as Error).message}`,
      );
    } finally {
      transport?.close();
    }
  }

  function pump(): void {
    while (sending.size < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      const running = send(job).finally(() => {
        sending.delete(running);
        pump();
      });
      sending.add(running);
    }
    if (sending.size === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  return {
    notify(event, config) {
      if (closed) {
        logger.warn({ user: event.user, rule: event.rule }, 'throttle notification not sent: shutting down');
        return;
      }
      if (queue.length >= maxQueued) {
        logger.warn(
          { user: event.user, rule: event.rule, queued: queue.length },
          'throttle notification dropped: too many e-mails waiting',
        );
        return;
      }
      queue.push({ event, config });
      pump();
    },
    idle() {
      if (sending.size === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      const dropped = queue.splice(0);
      if (dropped.length > 0) {
        logger.warn({ dropped: dropped.length }, 'throttle notifications not sent: shutting down');
      }
      await Promise.all([...sending]);
    },
  };
}
