/**
 * A small SMTP client for the end-to-end tests: EHLO, XCLIENT, MAIL, RCPT, DATA, RSET, QUIT, each returning the
 * server's reply. node:net only, every wait bounded.
 */

import { connect, type Socket } from 'node:net';

/** One SMTP reply: its code, enhanced status code (if the text starts with one) and text. */
export interface SmtpReply {
  /** Three-digit reply code, e.g. 250, 451, 554. */
  readonly code: number;
  /** Enhanced status code (RFC 3463) that starts the last line, e.g. `4.7.1`; `''` if there is none. */
  readonly status: string;
  /** Text of the last line after the code and the enhanced status code. */
  readonly text: string;
  /** Every line as received, without CRLF, e.g. `['250-host', '250 SMTPUTF8']`. */
  readonly lines: readonly string[];
}

/** Options of {@link connectSmtp}. */
export interface SmtpClientOptions {
  /** Server host; default `127.0.0.1`. */
  readonly host?: string;
  /** Server port. */
  readonly port: number;
  /** Limit for connecting and for each reply, in milliseconds; default 15 000. */
  readonly timeoutMs?: number;
}

/**
 * XCLIENT attributes (Postfix's XCLIENT_README). Postfix passes them to the policy service as
 * `client_address` (ADDR), `client_name` and `reverse_client_name` (NAME), `helo_name` (HELO),
 * `sasl_username` with `sasl_method=XCLIENT` (LOGIN), `client_port` (PORT) and `protocol_name` (PROTO).
 */
export interface XclientAttributes {
  /** Client IP address; IPv6 as `IPV6:2001:db8::1`. */
  readonly addr?: string;
  /** Client host name, or `[UNAVAILABLE]` / `[TEMPUNAVAIL]`. */
  readonly name?: string;
  /** HELO/EHLO name as if the client had sent it. */
  readonly helo?: string;
  /** SASL login name, as if the client had authenticated. */
  readonly login?: string;
  /** Client TCP port. */
  readonly port?: number;
  /** `SMTP` or `ESMTP`. */
  readonly proto?: 'SMTP' | 'ESMTP';
}

/** An open SMTP session; see {@link connectSmtp}. */
export interface SmtpClient {
  /** The server's greeting (220 …). */
  readonly greeting: SmtpReply;
  /** Send one command line (without CRLF) and wait for its reply. */
  command(line: string): Promise<SmtpReply>;
  /** `EHLO name`. */
  ehlo(name: string): Promise<SmtpReply>;
  /**
   * `XCLIENT …`. On success (220) Postfix resets the session and greets again, so send EHLO next.
   * Values are xtext-encoded.
   */
  xclient(attributes: XclientAttributes): Promise<SmtpReply>;
  /** `MAIL FROM:<sender>` with optional ESMTP parameters (e.g. `SIZE=1000`); `''` is the null sender. */
  mailFrom(sender: string, parameters?: readonly string[]): Promise<SmtpReply>;
  /** `RCPT TO:<recipient>`. */
  rcptTo(recipient: string): Promise<SmtpReply>;
  /**
   * `DATA`, then (if the server answers 354) the message with CRLF line ends and dot-stuffing, and the final
   * reply. Returns the 354-or-error reply and, when the content was sent, the final one.
   */
  data(message: string): Promise<{ readonly start: SmtpReply; readonly end?: SmtpReply }>;
  /** `RSET`. */
  rset(): Promise<SmtpReply>;
  /** `QUIT`, then close; never throws (the server may already have closed). */
  quit(): Promise<void>;
  /** Close the socket at once. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const REPLY_LINE = /^(\d{3})([ -])(.*)$/;
const ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?: (.*))?$/;

/** Open an SMTP session and read the greeting. */
export async function connectSmtp(options: SmtpClientOptions): Promise<SmtpClient> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = await openSocket(options.host ?? '127.0.0.1', options.port, timeoutMs);
  const reader = createReplyReader(socket);
  let greeting: SmtpReply;
  try {
    greeting = await reader.next(timeoutMs, 'greeting');
  } catch (error) {
    socket.destroy();
    throw error;
  }

  const command = async (line: string): Promise<SmtpReply> => {
    if (/[\r\n]/.test(line)) throw new Error(`SMTP command contains a line break: ${JSON.stringify(line)}`);
    socket.write(`${line}\r\n`);
    return reader.next(timeoutMs, line);
  };

  return {
    greeting,
    command,
    ehlo: (name) => command(`EHLO ${name}`),
    xclient: (attributes) => command(`XCLIENT ${formatXclient(attributes)}`),
    mailFrom: (sender, parameters = []) => command([`MAIL FROM:<${sender}>`, ...parameters].join(' ')),
    rcptTo: (recipient) => command(`RCPT TO:<${recipient}>`),
    async data(message) {
      const start = await command('DATA');
      if (start.code !== 354) return { start };
      socket.write(`${dotStuff(message)}.\r\n`);
      return { start, end: await reader.next(timeoutMs, 'end of data') };
    },
    rset: () => command('RSET'),
    async quit() {
      try {
        if (!socket.destroyed) await command('QUIT');
      } catch {
        // The server may have closed first (after a 421, say); QUIT is a courtesy.
      } finally {
        socket.destroy();
      }
    },
    close: () => socket.destroy(),
  };
}

/** Format XCLIENT attributes as `NAME=value` pairs with xtext-encoded values. */
export function formatXclient(attributes: XclientAttributes): string {
  const pairs: [string, string | number | undefined][] = [
    ['ADDR', attributes.addr],
    ['NAME', attributes.name],
    ['HELO', attributes.helo],
    ['LOGIN', attributes.login],
    ['PORT', attributes.port],
    ['PROTO', attributes.proto],
  ];
  const out = pairs.flatMap(([key, value]) =>
    value === undefined ? [] : [`${key}=${xtext(String(value))}`],
  );
  if (out.length === 0) throw new Error('XCLIENT needs at least one attribute');
  return out.join(' ');
}

/** xtext (RFC 3461): `+`, `=`, controls, space and non-ASCII bytes become `+XX`. */
export function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d
        ? `+${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** Message content for DATA: CRLF line ends, leading dots doubled, a final CRLF. */
export function dotStuff(message: string): string {
  const lines = message.replace(/\r?\n/g, '\n').replace(/\n$/, '').split('\n');
  return lines.map((line) => `${line.startsWith('.') ? '.' : ''}${line}\r\n`).join('');
}

/** Parse the lines of one complete reply. */
export function parseReply(lines: readonly string[]): SmtpReply {
  const last = lines.at(-1);
  const match = last === undefined ? null : REPLY_LINE.exec(last);
  if (match === null) throw new Error(`malformed SMTP reply: ${JSON.stringify(lines)}`);
  const rest = match[3] ?? '';
  const enhanced = ENHANCED.exec(rest);
  return {
    code: Number(match[1]),
    status: enhanced?.[1] ?? '',
    text: enhanced === null ? rest : (enhanced[2] ?? ''),
    lines: [...lines],
  };
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`SMTP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

interface ReplyReader {
  next(timeoutMs: number, what: string): Promise<SmtpReply>;
}

// Buffers incoming lines and hands out complete (possibly multi-line) replies in order.
function createReplyReader(socket: Socket): ReplyReader {
  let buffer = '';
  let pending: string[] = [];
  const replies: SmtpReply[] = [];
  let failure: Error | undefined;
  let waiter: { resolve: (reply: SmtpReply) => void; reject: (error: Error) => void } | undefined;

  const settle = (): void => {
    if (waiter === undefined) return;
    const reply = replies.shift();
    const current = waiter;
    if (reply !== undefined) {
      waiter = undefined;
      current.resolve(reply);
    } else if (failure !== undefined) {
      waiter = undefined;
      current.reject(failure);
    }
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      pending.push(line);
      const match = REPLY_LINE.exec(line);
      if (match === null || match[2] === ' ') {
        try {
          replies.push(parseReply(pending));
        } catch (error) {
          failure = error as Error;
        }
        pending = [];
      }
    }
    settle();
  });
  socket.on('error', (error) => {
    failure ??= error;
    settle();
  });
  socket.on('close', () => {
    failure ??= new Error('the SMTP server closed the connection');
    settle();
  });

  return {
    next(timeoutMs, what) {
      if (waiter !== undefined) return Promise.reject(new Error('SMTP replies must be awaited in order'));
      return new Promise<SmtpReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          socket.destroy();
          reject(new Error(`no SMTP reply to ${JSON.stringify(what)} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        settle();
      });
    },
  };
}
