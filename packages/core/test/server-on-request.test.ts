import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Decision } from '../src/decision.ts';
import type { Logger } from '../src/logger.ts';
import { createPolicy, type Evaluation } from '../src/policy.ts';
import type { PolicyRequest } from '../src/request.ts';
import { createServer, type PolicyServer, type ServerOptions } from '../src/server.ts';
import { requestText } from '../src/testing/request-builder.ts';

interface Line {
  readonly level: string;
  readonly msg: string;
}

function recorder(): Logger & { readonly lines: Line[] } {
  const lines: Line[] = [];
  const method = (level: string) => (a: object | string, b?: string) =>
    lines.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
  const logger: Logger = {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: () => logger,
  };
  return Object.assign(logger, { lines });
}

const servers: PolicyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ServerOptions, delayMs = 0) {
  const policy = await createPolicy({
    plugins: [
      {
        name: 'blacklist',
        check: async (req) => {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          return req.sender.domain === 'spam.test' ? Decision.reject('Blacklisted') : Decision.dunno();
        },
      },
    ],
  });
  const server = createServer(policy, options);
  servers.push(server);
  const bound = await server.listen({ host: '127.0.0.1', port: 0 });
  return 'port' in bound ? bound.port : 0;
}

async function ask(port: number, texts: string[]): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString();
  });
  for (const text of texts) socket.write(text);
  while (received.split('\n\n').length <= texts.length) await once(socket, 'data');
  socket.destroy();
  return received;
}

describe('ServerOptions.onRequest and logRequests', () => {
  it('calls onRequest once per answered request, after the reply, with the request and evaluation', async () => {
    const seen: [PolicyRequest, Evaluation][] = [];
    const port = await start({ onRequest: (request, evaluation) => seen.push([request, evaluation]) });
    const replies = await ask(port, [
      requestText({ sender: 'a@spam.test' }),
      requestText({ sender: 'b@ok.test' }),
    ]);
    expect(replies).toBe('action=REJECT Blacklisted\n\naction=DUNNO\n\n');
    expect(seen.map(([r, e]) => [r.sender.address, e.decision.action, e.decidedBy])).toEqual([
      ['a@spam.test', 'REJECT', 'blacklist'],
      ['b@ok.test', 'DUNNO', undefined],
    ]);
  });

  it('calls onRequest with the timeout decision when the deadline passes', async () => {
    const seen: Evaluation[] = [];
    const port = await start(
      { requestTimeoutMs: 30, onRequest: (_r, evaluation) => seen.push(evaluation) },
      200,
    );
    expect(await ask(port, [requestText()])).toBe('action=DUNNO\n\n');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.decision).toEqual(Decision.dunno('request-timeout'));
  });

  it('logs a throwing onRequest at error and still answers the next request', async () => {
    const log = recorder();
    const port = await start({
      logger: log,
      onRequest: () => {
        throw new Error('boom');
      },
    });
    expect(await ask(port, [requestText(), requestText()])).toBe('action=DUNNO\n\naction=DUNNO\n\n');
    expect(log.lines.filter((l) => l.level === 'error' && l.msg === 'onRequest failed')).toHaveLength(2);
  });

  it('writes the per-request info line unless logRequests is false', async () => {
    const on = recorder();
    await ask(await start({ logger: on }), [requestText()]);
    expect(on.lines.filter((l) => l.msg === 'policy request')).toHaveLength(1);
    const off = recorder();
    await ask(await start({ logger: off, logRequests: false }), [requestText()]);
    expect(off.lines.filter((l) => l.msg === 'policy request')).toHaveLength(0);
    expect(off.lines.some((l) => l.msg === 'listening')).toBe(true);
  });
});
