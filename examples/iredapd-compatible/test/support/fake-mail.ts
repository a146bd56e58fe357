/**
 * Mail sinks for notification tests: a fake `sendmail` (a shell script recording its arguments and standard
 * input) and a plain-text SMTP server speaking just enough ESMTP (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT).
 */

import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

/** One run of the fake sendmail. */
export interface SendmailCall {
  /** Its arguments. */
  readonly args: readonly string[];
  /** What was piped to it. */
  readonly stdin: string;
}

/** A fake sendmail; see {@link fakeSendmail}. */
export interface FakeSendmail {
  /** The script to use as `CMD_SENDMAIL`. */
  readonly path: string;
  /** Every run so far, oldest first. */
  calls(): Promise<SendmailCall[]>;
}

/** Options of {@link fakeSendmail}. */
export interface FakeSendmailOptions {
  /** Seconds each run sleeps after reading its input; default 0. */
  readonly delaySeconds?: number;
  /** Exit status of each run; default 0. */
  readonly exitCode?: number;
}

/** Write an executable script under `dir` that records each run in `dir/sendmail-calls/`. */
export async function fakeSendmail(dir: string, options: FakeSendmailOptions = {}): Promise<FakeSendmail> {
  const calls = join(dir, 'sendmail-calls');
  await mkdir(calls, { recursive: true });
  const path = join(dir, 'fake-sendmail.sh');
  // One file pair per run, named so that runs sort in order; arguments one per line.
  const script = [
    '#!/bin/sh',
    `out="${calls}/$(date +%s%N)-$$"`,
    'printf "%s\\n" "$@" > "$out.args"',
    'cat > "$out.stdin"',
    ...(options.delaySeconds === undefined ? [] : [`sleep ${options.delaySeconds}`]),
    `exit ${options.exitCode ?? 0}`,
    '',
  ].join('\n');
  await writeFile(path, script);
  await chmod(path, 0o755);
  return {
    path,
    async calls() {
      const names = (await readdir(calls)).filter((n) => n.endsWith('.args')).sort();
      return Promise.all(
        names.map(async (name) => {
          const base = join(calls, name.slice(0, -'.args'.length));
          const args = (await readFile(`${base}.args`, 'utf8')).split('\n').slice(0, -1);
          return { args, stdin: await readFile(`${base}.stdin`, 'utf8') };
        }),
      );
    },
  };
}

/** One message the SMTP sink accepted. */
export interface SinkMessage {
  /** `AUTH` user and password, when the client logged in. */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** `MAIL FROM` address. */
  readonly from: string;
  /** `RCPT TO` addresses. */
  readonly to: readonly string[];
  /** The message as sent after `DATA` (each line ending in CRLF, without the final dot line). */
  readonly data: string;
}

/** A running SMTP sink; see {@link startSmtpSink}. */
export interface SmtpSink {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Messages accepted so far. */
  readonly messages: readonly SinkMessage[];
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

const address = (arg: string): string => /<([^>]*)>/.exec(arg)?.[1] ?? '';
const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function serve(socket: Socket, messages: SinkMessage[]): void {
  let buffer = '';
  let auth: { user: string; pass: string } | undefined;
  let from = '';
  let to: string[] = [];
  let data: string[] | undefined;
  let login: 'user' | 'pass' | undefined;
  let loginUser = '';
  const reply = (line: string): void => {
    socket.write(`${line}\r\n`);
  };

  const command = (line: string): void => {
    if (data !== undefined) {
      if (line === '.') {
        messages.push({
          ...(auth === undefined ? {} : { auth }),
          from,
          to,
          data: data.map((l) => `${l}\r\n`).join(''),
        });
        data = undefined;
        to = [];
        reply('250 2.0.0 queued');
      } else {
        data.push(line.startsWith('.') ? line.slice(1) : line);
      }
      return;
    }
    if (login === 'user') {
      loginUser = b64(line);
      login = 'pass';
      reply('334 UGFzc3dvcmQ6');
      return;
    }
    if (login === 'pass') {
      auth = { user: loginUser, pass: b64(line) };
      login = undefined;
      reply('235 2.7.0 accepted');
      return;
    }
    const [verb = '', ...rest] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO':
        reply('250-sink.test');
        reply('250-AUTH PLAIN LOGIN');
        reply('250 8BITMIME');
        return;
      case 'AUTH': {
        if (rest[0]?.toUpperCase() === 'LOGIN') {
          login = 'user';
          reply('334 VXNlcm5hbWU6');
          return;
        }
        const [, user = '', pass = ''] = b64(rest[1] ?? '').split('\0');
        auth = { user, pass };
        reply('235 2.7.0 accepted');
        return;
      }
      case 'MAIL':
        from = address(line);
        reply('250 2.1.0 ok');
        return;
      case 'RCPT':
        to.push(address(line));
        reply('250 2.1.5 ok');
        return;
      case 'DATA':
        data = [];
        reply('354 go ahead');
        return;
      case 'QUIT':
        reply('221 2.0.0 bye');
        socket.end();
        return;
      case 'RSET':
      case 'NOOP':
        reply('250 ok');
        return;
      default:
        // STARTTLS included: this sink has no TLS.
        reply('502 5.5.1 command not implemented');
    }
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      command(line);
    }
  });
  socket.on('error', () => socket.destroy());
  reply('220 sink.test ESMTP');
}

/** Start an SMTP sink on 127.0.0.1 (any free port), without TLS. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serve(socket, messages);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  return {
    port,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
