import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Decision } from '../src/decision.ts';
import { createPolicy, type Policy } from '../src/policy.ts';
import { createServer, type PolicyServer } from '../src/server.ts';
import { requestText } from '../src/testing/request-builder.ts';

/*
 * The request deadline uses one timer per connection that is not moved for each request (see connection.ts):
 * a request that starts while the timer is still armed for an earlier one must get its full deadline anyway.
 */

const TIMEOUT_MS = 150;
const opened: { server: PolicyServer; policy: Policy; socket: Socket }[] = [];
afterEach(async () => {
  for (const { server, policy, socket } of opened.splice(0)) {
    socket.destroy();
    await server.close();
    await policy.close();
  }
});

/** A server whose plugin hangs for recipients named `hang@…` and answers DUNNO otherwise; one client. */
async function start() {
  const policy = await createPolicy({
    plugins: [
      {
        name: 'sometimes-hangs',
        check: (req) =>
          req.recipient.localPart === 'hang' ? new Promise<Decision>(() => {}) : Decision.dunno(),
      },
    ],
    pluginTimeoutMs: 60_000,
  });
  const server = createServer(policy, {
    requestTimeoutMs: TIMEOUT_MS,
    timeoutDecision: Decision.defer('deadline'),
  });
  const bound = await server.listen({ host: '127.0.0.1', port: 0 });
  const socket = connect({ host: '127.0.0.1', port: 'port' in bound ? bound.port : 0 });
  opened.push({ server, policy, socket });
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  let received = '';
  const waiting = new Set<() => void>();
  socket.on('data', (text: string) => {
    received += text;
    for (const wake of waiting) wake();
  });
  /** Send one request; resolves with its reply and the milliseconds it took. */
  const ask = (recipient: string) =>
    new Promise<{ reply: string; ms: number }>((resolve) => {
      const sent = performance.now();
      const wake = () => {
        const end = received.indexOf('\n\n');
        if (end === -1) return;
        waiting.delete(wake);
        const reply = received.slice(0, end);
        received = received.slice(end + 2);
        resolve({ reply, ms: performance.now() - sent });
      };
      waiting.add(wake);
      socket.write(requestText({ recipient }));
    });
  return ask;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createServer: request deadline', () => {
  it('gives a request that starts late in an earlier request’s timer period its full deadline', async () => {
    const ask = await start();
    expect((await ask('first@example.com')).reply).toBe('action=DUNNO');
    await sleep(TIMEOUT_MS / 2); // the timer armed for the first request fires half-way through the next
    const late = await ask('hang@example.com');
    expect(late.reply).toBe('action=DEFER deadline');
    expect(late.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    // Still in step, and the next hanging request gets its own deadline.
    expect((await ask('next@example.com')).reply).toBe('action=DUNNO');
    const again = await ask('hang@example.com');
    expect(again.reply).toBe('action=DEFER deadline');
    expect(again.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
  });

  it('times out a request after an idle period longer than the deadline', async () => {
    const ask = await start();
    expect((await ask('first@example.com')).reply).toBe('action=DUNNO');
    await sleep(TIMEOUT_MS * 1.5); // the timer fired with nothing in flight and lapsed
    const hung = await ask('hang@example.com');
    expect(hung.reply).toBe('action=DEFER deadline');
    expect(hung.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    expect(hung.ms).toBeLessThan(TIMEOUT_MS * 10);
  });
});
