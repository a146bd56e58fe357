import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Decision } from '../src/decision.ts';
import { isPolicydError } from '../src/errors.ts';
import type { Logger } from '../src/logger.ts';
import type { ErrorPolicy, PolicyPlugin } from '../src/plugin.ts';
import { createPolicy, type Policy, type PolicyOptions } from '../src/policy.ts';
import { createServer, type ListenAddress, type PolicyServer, type ServerOptions } from '../src/server.ts';
import { type RequestAttributes, requestText } from '../src/testing/request-builder.ts';

// ---------------------------------------------------------------------------------------------------------
// Helpers: a recording logger, a line-protocol client, servers that are closed after each test.

interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

interface RecordingLogger extends Logger {
  readonly lines: LogLine[];
  /** Resolves with the first line (past or future) that matches. */
  waitFor(match: (line: LogLine) => boolean): Promise<LogLine>;
}

function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  const make = (bindings: Record<string, unknown>): Logger => {
    const method =
      (level: LogLine['level']) =>
      (fieldsOrMsg: object | string, msg?: string): void => {
        const line: LogLine =
          typeof fieldsOrMsg === 'string'
            ? { level, fields: { ...bindings }, msg: fieldsOrMsg }
            : { level, fields: { ...bindings, ...fieldsOrMsg }, msg: msg ?? '' };
        lines.push(line);
        for (const waiter of waiters) {
          if (waiter.match(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      };
    return {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), {
    lines,
    waitFor(match: (line: LogLine) => boolean): Promise<LogLine> {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.add({ match, resolve }));
    },
  });
}

/** A client speaking the policy protocol, as Postfix's smtpd does. */
interface TestClient {
  readonly socket: Socket;
  write(text: string | Uint8Array): Promise<void>;
  /** Resolves with the first `count` replies (each without its final empty line). */
  replies(count: number): Promise<string[]>;
  /** Send one request and wait for its reply. */
  ask(attrs?: RequestAttributes): Promise<string>;
  /** Resolves when the connection is closed, with everything received on it. */
  readonly closed: Promise<string>;
}

async function connectTo(at: ListenAddress): Promise<TestClient> {
  const socket = 'path' in at ? connect({ path: at.path }) : connect({ host: at.host, port: at.port });
  socket.setNoDelay(true);
  let received = '';
  let consumed = 0;
  const waiters = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    received += text;
    for (const waiter of waiters) waiter();
  });
  socket.on('error', () => {}); // resets are expected in some tests; `closed` reports the end
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  await once(socket, 'connect');
  const replies = (count: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const parts = received.split('\n\n').slice(0, -1);
        if (parts.length >= consumed + count) {
          waiters.delete(check);
          const taken = parts.slice(consumed, consumed + count);
          consumed += count;
          resolve(taken);
        }
      };
      waiters.add(check);
      check();
      void closed.then(() => {
        if (waiters.delete(check))
          reject(new Error(`connection closed; received ${JSON.stringify(received)}`));
      });
    });
  return {
    socket,
    write: (text) =>
      new Promise((resolve, reject) => socket.write(text, (err) => (err ? reject(err) : resolve()))),
    replies,
    async ask(attrs = {}) {
      socket.write(requestText(attrs));
      const [reply] = await replies(1);
      return reply!;
    },
    closed,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  readonly server: PolicyServer;
  readonly policy: Policy;
  readonly address: ListenAddress;
  readonly log: RecordingLogger;
}

async function start(
  plugins: PolicyPlugin[],
  options: Omit<ServerOptions, 'logger'> = {},
  policyOptions: Omit<PolicyOptions, 'plugins'> = {},
  at: ListenAddress = { host: '127.0.0.1', port: 0 },
): Promise<Started> {
  const log = recordingLogger();
  const policy = await createPolicy({ plugins, ...policyOptions });
  const server = createServer(policy, { ...options, logger: log });
  cleanups.push(async () => {
    await server.close();
    await policy.close();
  });
  const address = await server.listen(at);
  return { server, policy, address, log };
}

async function client(at: ListenAddress): Promise<TestClient> {
  const c = await connectTo(at);
  cleanups.push(async () => {
    c.socket.destroy();
    await c.closed;
  });
  return c;
}

/** Rejects the recipient given in `recipient=reject-…`, DUNNO otherwise. */
const echoRecipient: PolicyPlugin = {
  name: 'echo',
  check: (req) =>
    req.recipient.localPart.startsWith('reject') ? Decision.reject(req.recipient.address) : Decision.dunno(),
};

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------------------

describe('createServer: requests and replies', () => {
  it('answers many requests on one persistent connection', async () => {
    const { address } = await start([echoRecipient]);
    const c = await client(address);
    for (let i = 0; i < 50; i++) {
      expect(await c.ask({ recipient: `reject-${i}@example.com` })).toBe(
        `action=REJECT reject-${i}@example.com`,
      );
      expect(await c.ask({ recipient: `user${i}@example.com` })).toBe('action=DUNNO');
    }
  });

  it('answers pipelined requests sent in one write in order, one at a time', async () => {
    let running = 0;
    let maxRunning = 0;
    const slowFirst: PolicyPlugin = {
      name: 'slow-first',
      async check(req) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Earlier requests take longer: a server that ran them concurrently would answer out of order.
        const delay = 30 - Number(req.recipient.localPart.slice(1)) * 10;
        await new Promise((resolve) => setTimeout(resolve, delay));
        running--;
        return Decision.reject(req.recipient.address);
      },
    };
    const { address } = await start([slowFirst]);
    const c = await client(address);
    await c.write([0, 1, 2].map((i) => requestText({ recipient: `r${i}@example.com` })).join(''));
    expect(await c.replies(3)).toEqual([
      'action=REJECT r0@example.com',
      'action=REJECT r1@example.com',
      'action=REJECT r2@example.com',
    ]);
    expect(maxRunning).toBe(1);
  });

  it('queues requests that arrive while one is being evaluated', async () => {
    const firstStarted = deferred();
    const release = deferred();
    let running = 0;
    let maxRunning = 0;
    const gated: PolicyPlugin = {
      name: 'gated',
      async check(req) {
        running++;
        maxRunning = Math.max(maxRunning, running);
        firstStarted.resolve();
        if (req.recipient.localPart === 'r0') await release.promise;
        running--;
        return Decision.reject(req.recipient.address);
      },
    };
    const { address } = await start([gated]);
    const c = await client(address);
    await c.write(requestText({ recipient: 'r0@example.com' }));
    await firstStarted.promise;
    await c.write(
      requestText({ recipient: 'r1@example.com' }) + requestText({ recipient: 'r2@example.com' }),
    );
    // Give the server time to read r1 and r2 while r0 is pending. The delay only decides how sensitive the
    // test is (a slow machine may read them after r0's reply); a correct server passes either way.
    setTimeout(() => release.resolve(), 50);
    expect(await c.replies(3)).toEqual([
      'action=REJECT r0@example.com',
      'action=REJECT r1@example.com',
      'action=REJECT r2@example.com',
    ]);
    expect(maxRunning).toBe(1);
  });

  it('answers thousands of pipelined requests in order without losing any', async () => {
    const { address } = await start([echoRecipient]);
    const c = await client(address);
    const count = 3_000;
    const text = Array.from({ length: count }, (_, i) =>
      requestText({ recipient: `reject-${i}@x.org` }),
    ).join('');
    await c.write(text);
    const replies = await c.replies(count);
    expect(replies).toEqual(Array.from({ length: count }, (_, i) => `action=REJECT reject-${i}@x.org`));
  });

  it('reassembles a request split across many writes', async () => {
    const { address } = await start([echoRecipient]);
    const c = await client(address);
    const text =
      requestText({ recipient: 'reject-split@example.com' }) + requestText({ recipient: 'u@example.com' });
    for (let i = 0; i < text.length; i += 7) await c.write(text.slice(i, i + 7));
    expect(await c.replies(2)).toEqual(['action=REJECT reject-split@example.com', 'action=DUNNO']);
  });

  it('answers what a peer sent before half-closing, then closes', async () => {
    const { address } = await start([echoRecipient]);
    const c = await client(address);
    c.socket.end(requestText({ recipient: 'reject-last@example.com' }));
    expect(await c.closed).toBe('action=REJECT reject-last@example.com\n\n');
  });

  it('logs one info line per request with the request log fields', async () => {
    const { address, log } = await start([echoRecipient]);
    const c = await client(address);
    await c.ask({ recipient: 'reject-me@example.com', sender: 'S@Example.net', client_address: '192.0.2.7' });
    const lines = log.lines.filter((l) => l.msg === 'policy request');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('info');
    expect(lines[0]!.fields).toMatchObject({
      client: '192.0.2.7',
      state: 'RCPT',
      sender: 's@example.net',
      recipient: 'reject-me@example.com',
      sasl: '',
      action: 'REJECT reject-me@example.com',
      plugin: 'echo',
      remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(lines[0]!.fields.durationMs).toBeTypeOf('number');
  });
  it('skips the request line when the logger says info is disabled (pino isLevelEnabled)', async () => {
    const log = recordingLogger();
    // pino's children answer isLevelEnabled too.
    const isLevelEnabled = (level: string) => level !== 'info' && level !== 'debug';
    const withLevels = (l: Logger): Logger =>
      ({ ...l, isLevelEnabled, child: (b) => withLevels(l.child(b)) }) as Logger;
    const quiet = withLevels(log);
    const policy = await createPolicy({ plugins: [echoRecipient] });
    const server = createServer(policy, { logger: quiet });
    cleanups.push(() => server.close());
    const c = await client(await server.listen({ port: 0 }));
    expect(await c.ask({ recipient: 'reject-quiet@example.com' })).toBe(
      'action=REJECT reject-quiet@example.com',
    );
    expect(log.lines.filter((l) => l.msg === 'policy request')).toEqual([]);
  });
});

describe('createServer: protocol errors and garbage', () => {
  it('answers the requests before a protocol error, then closes without a reply', async () => {
    const { address, log } = await start([echoRecipient]);
    const c = await client(address);
    await c.write(`${requestText({ recipient: 'reject-ok@example.com' })}this line has no equals sign\n\n`);
    expect(await c.closed).toBe('action=REJECT reject-ok@example.com\n\n');
    const warning = await log.waitFor((l) => l.msg.startsWith('protocol error'));
    expect(warning.level).toBe('warn');
    expect(warning.fields).toMatchObject({
      reason: 'missing-equals',
      remote: expect.stringMatching(/^127\.0\.0\.1:/),
    });
  });

  it('closes without a reply on a request that is not smtpd_access_policy', async () => {
    const { address } = await start([echoRecipient]);
    const c = await client(address);
    await c.write(requestText({ request: 'something_else' }));
    expect(await c.closed).toBe('');
  });

  it('closes without a reply when a line exceeds maxLineBytes, without waiting for its end', async () => {
    const { address } = await start([echoRecipient], { maxLineBytes: 64 });
    const c = await client(address);
    await c.write(`sender=${'a'.repeat(200)}`);
    expect(await c.closed).toBe('');
  });

  it('survives random garbage on many connections while another connection keeps working', async () => {
    const { address, server } = await start([echoRecipient]);
    const steady = await client(address);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2_048 }), async (bytes) => {
        const c = await connectTo(address);
        await c.write(bytes).catch(() => {}); // the server may already have closed it
        c.socket.end();
        const received = await c.closed;
        // Whatever arrived is made of whole replies only.
        expect(received).toMatch(/^(action=[^\n]*\n\n)*$/);
        expect(await steady.ask({ recipient: 'reject-steady@example.com' })).toBe(
          'action=REJECT reject-steady@example.com',
        );
      }),
      { numRuns: 60, seed: 20_260_101 },
    );
    expect(server.connections).toBeGreaterThanOrEqual(1);
  });
});

describe('createServer: deadlines and plugin failures', () => {
  it('answers timeoutDecision when a plugin hangs past requestTimeoutMs, and aborts its signal', async () => {
    const aborted = deferred<unknown>();
    const hanging: PolicyPlugin = {
      name: 'hanging',
      check: (req, ctx) => {
        if (req.recipient.localPart !== 'hang') return Decision.dunno();
        ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
        return new Promise<Decision>(() => {});
      },
    };
    const { address, log } = await start(
      [hanging],
      { requestTimeoutMs: 50, timeoutDecision: Decision.defer('policy timeout') },
      { pluginTimeoutMs: 60_000 },
    );
    const c = await client(address);
    expect(await c.ask({ recipient: 'hang@example.com' })).toBe('action=DEFER policy timeout');
    expect(isPolicydError(await aborted.promise, 'POLICYD_ERR_PLUGIN_TIMEOUT')).toBe(true);
    const warning = await log.waitFor((l) => l.msg.startsWith('request deadline passed'));
    expect(warning).toMatchObject({
      level: 'warn',
      fields: { timeoutMs: 50, action: 'DEFER policy timeout' },
    });
    // The connection is still in step: the next request gets its own answer.
    expect(await c.ask({ recipient: 'next@example.com' })).toBe('action=DUNNO');
  });

  it('answers DUNNO by default when the deadline passes', async () => {
    const hanging: PolicyPlugin = { name: 'hanging', check: () => new Promise<Decision>(() => {}) };
    const { address } = await start([hanging], { requestTimeoutMs: 30 }, { pluginTimeoutMs: 60_000 });
    const c = await client(address);
    expect(await c.ask()).toBe('action=DUNNO');
  });

  const throwing: PolicyPlugin = {
    name: 'throwing',
    check: () => {
      throw new Error('store unreachable');
    },
  };
  it.each<[ErrorPolicy, string | undefined]>([
    ['skip', 'action=DUNNO\n\n'],
    ['defer', 'action=451 4.3.0 Temporary policy service failure, try again later\n\n'],
    ['disconnect', undefined],
  ])('handles a throwing plugin under onPluginError=%s', async (onPluginError, expected) => {
    const { address, log } = await start([throwing], {}, { onPluginError });
    const c = await client(address);
    await c.write(requestText() + requestText());
    if (expected === undefined) {
      expect(await c.closed).toBe('');
      const warning = await log.waitFor((l) => l.msg.includes('"disconnect"'));
      expect(warning).toMatchObject({ level: 'warn', fields: { plugin: 'throwing' } });
    } else {
      expect(await c.replies(2)).toEqual([expected.trimEnd(), expected.trimEnd()]);
    }
  });
});

describe('createServer: connection management', () => {
  it('closes a connection idle for idleTimeoutMs', async () => {
    const { address, log, server } = await start([echoRecipient], { idleTimeoutMs: 80 });
    const c = await client(address);
    expect(await c.ask()).toBe('action=DUNNO');
    const before = performance.now();
    expect(await c.closed).toBe('action=DUNNO\n\n');
    expect(performance.now() - before).toBeGreaterThanOrEqual(60);
    await log.waitFor((l) => l.msg === 'connection closed');
    expect(log.lines.some((l) => l.msg.startsWith('idle timeout'))).toBe(true);
    expect(server.connections).toBe(0);
  });

  it('does not close a connection as idle while its request is being evaluated', async () => {
    const slow: PolicyPlugin = {
      name: 'slow',
      check: () => new Promise((resolve) => setTimeout(() => resolve(Decision.ok()), 150)),
    };
    const { address } = await start([slow], { idleTimeoutMs: 50 });
    const c = await client(address);
    expect(await c.ask()).toBe('action=OK');
  });

  it('closes a connection whose peer stops reading its replies for idleTimeoutMs', async () => {
    const verbose: PolicyPlugin = { name: 'verbose', check: () => Decision.reject('x'.repeat(4_000)) };
    const { address, log, server } = await start([verbose], { idleTimeoutMs: 100 });
    const c = await client(address);
    c.socket.pause(); // never read: replies pile up in the kernel buffers, then in the server
    const minimal = 'request=smtpd_access_policy\nprotocol_state=RCPT\n\n';
    c.socket.write(minimal.repeat(5_000));
    // A paused client socket would not notice the close, so watch the server's side.
    expect(await log.waitFor((l) => l.msg.startsWith('peer not reading'))).toMatchObject({ level: 'info' });
    await log.waitFor((l) => l.msg === 'connection closed');
    expect(server.connections).toBe(0);
  });

  it('closes connections beyond maxConnections at once and logs it', async () => {
    const { address, log, server } = await start([echoRecipient], { maxConnections: 2 });
    const first = await client(address);
    const second = await client(address);
    expect(await first.ask()).toBe('action=DUNNO');
    expect(await second.ask()).toBe('action=DUNNO');
    const third = await client(address);
    expect(await third.closed).toBe('');
    expect(await log.waitFor((l) => l.msg.startsWith('connection limit'))).toMatchObject({
      level: 'warn',
      fields: { maxConnections: 2 },
    });
    expect(server.connections).toBe(2);
    first.socket.end();
    await first.closed;
    await log.waitFor((l) => l.msg === 'connection closed');
    const fourth = await client(address);
    expect(await fourth.ask()).toBe('action=DUNNO');
  });

  it('close() answers the request in flight, then closes; idle connections close at once', async () => {
    const started = deferred();
    const release = deferred();
    const slow: PolicyPlugin = {
      name: 'slow',
      async check() {
        started.resolve();
        await release.promise;
        return Decision.reject('slow answer');
      },
    };
    const { address, server } = await start([slow]);
    const busy = await client(address);
    const idle = await client(address);
    await busy.write(requestText());
    await started.promise;
    const closing = server.close();
    expect(await idle.closed).toBe('');
    await expect(connectTo(address)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    release.resolve();
    expect(await busy.closed).toBe('action=REJECT slow answer\n\n');
    await closing;
    expect(server.connections).toBe(0);
    expect(server.close()).toBe(closing);
  });

  it('close() answers every request already received, pipelined ones included', async () => {
    const started = deferred();
    const release = deferred();
    const gated: PolicyPlugin = {
      name: 'gated',
      async check(req) {
        started.resolve();
        await release.promise;
        return Decision.reject(req.recipient.address);
      },
    };
    const { address, server } = await start([gated]);
    const c = await client(address);
    await c.write(requestText({ recipient: 'a@x.org' }) + requestText({ recipient: 'b@x.org' }));
    await started.promise;
    const closing = server.close();
    release.resolve();
    expect(await c.closed).toBe('action=REJECT a@x.org\n\naction=REJECT b@x.org\n\n');
    await closing;
  });

  it('close() destroys connections still busy after closeTimeoutMs', async () => {
    const started = deferred();
    const aborted = deferred();
    const stuck: PolicyPlugin = {
      name: 'stuck',
      check(_req, ctx) {
        ctx.signal.addEventListener('abort', () => aborted.resolve());
        started.resolve();
        return new Promise<Decision>(() => {});
      },
    };
    const { address, server, log } = await start(
      [stuck],
      { closeTimeoutMs: 50 },
      { pluginTimeoutMs: 60_000 },
    );
    const c = await client(address);
    await c.write(requestText());
    await started.promise;
    await server.close();
    expect(await c.closed).toBe('');
    await aborted.promise;
    expect(log.lines.some((l) => l.msg.startsWith('close timeout'))).toBe(true);
  });

  it('rejects listen() after close()', async () => {
    const { server } = await start([echoRecipient]);
    await server.close();
    await expect(server.listen({ port: 0 })).rejects.toMatchObject({ code: 'POLICYD_ERR_CLOSED' });
  });

  it('rejects invalid options with POLICYD_ERR_INVALID_OPTION', async () => {
    const policy = await createPolicy({ plugins: [] });
    for (const options of [
      { idleTimeoutMs: 0 },
      { requestTimeoutMs: -1 },
      { maxConnections: 1.5 },
      { closeTimeoutMs: Number.NaN },
      { timeoutDecision: { action: 'NOPE' } as unknown as Decision },
    ]) {
      expect(() => createServer(policy, options)).toThrow(
        expect.objectContaining({ code: 'POLICYD_ERR_INVALID_OPTION' }),
      );
    }
    const server = createServer(policy);
    await expect(server.listen({ port: 70_000 })).rejects.toMatchObject({
      code: 'POLICYD_ERR_INVALID_OPTION',
    });
    await server.close();
  });
});

describe('createServer: addresses', () => {
  it('listens on IPv6 loopback', async () => {
    const { address } = await start([echoRecipient], {}, {}, { host: '::1', port: 0 });
    expect(address).toMatchObject({ host: '::1', port: expect.any(Number) });
    const c = await client(address);
    expect(await c.ask({ recipient: 'reject-v6@example.com' })).toBe('action=REJECT reject-v6@example.com');
  });

  it('listens on 127.0.0.1 when no host is given', async () => {
    const { address } = await start([echoRecipient], {}, {}, { port: 0 });
    expect(address).toMatchObject({ host: '127.0.0.1' });
  });

  describe('Unix sockets', () => {
    async function tempDir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'policyd-server-'));
      cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
      return dir;
    }

    it('serves on a Unix socket and removes the file on close', async () => {
      const path = join(await tempDir(), 'policyd.sock');
      const { address, server, log } = await start([echoRecipient], {}, {}, { path });
      expect(address).toEqual({ path });
      const c = await client(address);
      expect(await c.ask({ recipient: 'reject-unix@example.com' })).toBe(
        'action=REJECT reject-unix@example.com',
      );
      expect(log.lines.find((l) => l.msg === 'policy request')?.fields.remote).toBe(`unix:${path}`);
      await server.close();
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('replaces a stale socket file left by a dead process', async () => {
      const path = join(await tempDir(), 'stale.sock');
      // A child binds the socket and dies without cleaning up, as a crashed daemon would.
      const child = spawn(process.execPath, [
        '-e',
        `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      await once(child, 'exit');
      expect((await stat(path)).isSocket()).toBe(true);
      const { address, log } = await start([echoRecipient], {}, {}, { path });
      expect(log.lines.some((l) => l.msg.startsWith('removing a stale socket'))).toBe(true);
      const c = await client(address);
      expect(await c.ask()).toBe('action=DUNNO');
    });

    it('refuses a socket another server is listening on', async () => {
      const path = join(await tempDir(), 'live.sock');
      const { address } = await start([echoRecipient], {}, {}, { path });
      const policy = await createPolicy({ plugins: [] });
      const second = createServer(policy);
      await expect(second.listen({ path })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await second.close();
      const c = await client(address);
      expect(await c.ask()).toBe('action=DUNNO');
    });

    it('never removes a file that is not a socket', async () => {
      const path = join(await tempDir(), 'regular-file');
      await writeFile(path, 'keep me');
      const policy = await createPolicy({ plugins: [] });
      const server = createServer(policy);
      await expect(server.listen({ path })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await server.close();
      expect((await stat(path)).isFile()).toBe(true);
    });
  });
});
