/**
 * A server under test, run in its own process so that the load generator's CPU and memory are not counted.
 * Started by `bench/core.ts` with an IPC channel: it sends `{ port }` once listening, answers `'rss'` with
 * `process.memoryUsage()` (after a full GC when `--expose-gc` is on), `'cpu'` with `process.cpuUsage()`, and exits on `'exit'` or when the parent goes away.
 *
 * Kinds: `codec` (the benchmark's baseline: node:net, the request decoder and formatResponse; no policy, no
 * server bookkeeping), `net` (a reference below the baseline: bare node:net splitting on "\n\n", no codec),
 * `core` (createServer with N trivial plugins).
 */

import { createServer as createNetServer, type Server } from 'node:net';
import {
  createPolicy,
  createRequestDecoder,
  createServer,
  Decision,
  formatResponse,
  type PolicyPlugin,
} from '../packages/core/src/index.ts';

/** The kinds of server this process can run. */
export type ServerKind = 'net' | 'codec' | 'core';

const DUNNO_REPLY = 'action=DUNNO\n\n';

// Not the baseline: shows what node:net alone costs, below which no policy server can go.
function netServer(): Server {
  return createNetServer({ noDelay: true }, (socket) => {
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end = buffered.indexOf('\n\n');
      while (end !== -1) {
        buffered = buffered.slice(end + 2);
        socket.write(DUNNO_REPLY);
        end = buffered.indexOf('\n\n');
      }
    });
    socket.on('error', () => {});
  });
}

// The baseline: what any policy server must do per request (decode it, answer), and nothing more.
function codecServer(): Server {
  const dunno = Decision.dunno();
  return createNetServer({ noDelay: true }, (socket) => {
    const decoder = createRequestDecoder();
    socket.on('data', (chunk: Buffer) => {
      const { requests, error } = decoder.push(chunk);
      for (const _ of requests) socket.write(formatResponse(dunno));
      if (error !== undefined) socket.destroy();
    });
    socket.on('error', () => {});
  });
}

/** `count` plugins that look at the request and say DUNNO, so every one of them runs. */
function trivialPlugins(count: number): PolicyPlugin[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `trivial-${i}`,
    check: (request) =>
      request.sender.domain === `never-${i}.invalid` ? Decision.reject() : Decision.dunno(),
  }));
}

async function main(): Promise<void> {
  const [kind = 'core', plugins = '0'] = process.argv.slice(2);
  let port: number;
  if (kind === 'core') {
    const server = createServer(await createPolicy({ plugins: trivialPlugins(Number(plugins)) }));
    const bound = await server.listen({ host: '127.0.0.1', port: 0 });
    port = 'port' in bound ? bound.port : 0;
  } else {
    const server = kind === 'net' ? netServer() : codecServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = address !== null && typeof address === 'object' ? address.port : 0;
  }
  process.on('message', (message) => {
    if (message === 'rss') {
      globalThis.gc?.();
      process.send?.(process.memoryUsage());
    } else if (message === 'cpu') {
      process.send?.(process.cpuUsage());
    } else if (message === 'exit') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ port });
}

await main();
