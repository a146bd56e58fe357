/**
 * `writeBehindFirstAttempts`: first attempts answered before their row is written, on every backend
 * (memory.test.ts, backends.test.ts).
 */

import type { Decision, GreylistStore, Logger, PolicyPlugin } from '@policyd/core';
import {
  createFakeResolver,
  type FixedClock,
  fixedClock,
  type RequestAttributes,
} from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GREYLISTING_MESSAGE, type GreylistingOptions, greylisting } from '../src/index.ts';
import {
  type CallLog,
  callLog,
  context,
  counted,
  GLOBAL_ON,
  MINUTE,
  request,
  resetLog,
  type StoresFactory,
  useStores,
} from './harness.ts';

/** A logger that keeps its lines. */
export function recordingLogger(): Logger & { readonly lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (a: object | string, b?: string) =>
    lines.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return Object.assign(logger, { lines });
}

/** The plugin with write-behind on and initialised, as `createPolicy` leaves it. */
export async function writeBehindPlugin(
  store: GreylistStore,
  options: Partial<GreylistingOptions> = {},
): Promise<{
  plugin: PolicyPlugin;
  clock: FixedClock;
  logger: ReturnType<typeof recordingLogger>;
  run(attrs?: RequestAttributes): Promise<Decision>;
}> {
  const clock = fixedClock();
  const logger = recordingLogger();
  const plugin = greylisting({
    store,
    dns: createFakeResolver(),
    writeBehindFirstAttempts: true,
    ...options,
  });
  await plugin.init?.({ log: logger, now: clock.now });
  const run = async (attrs: RequestAttributes = {}) => plugin.check(request(attrs), context(clock.now));
  return { plugin, clock, logger, run };
}

function expectNewTriplet(decision: Decision): void {
  expect(decision).toMatchObject({
    action: 'REPLY',
    code: 451,
    status: '4.7.1',
    text: DEFAULT_GREYLISTING_MESSAGE,
  });
  expect(decision.reason).toMatch(
    /^greylisted: new triplet, retry accepted after 15m; enabled by setting @\. -> @\.(;|$)/,
  );
}

/** Register the write-behind suite for one backend. */
export function describeWriteBehind(backend: string, factory: StoresFactory): void {
  describe(`greylisting plugin, write-behind first attempts [${backend}]`, () => {
    const stores = useStores(factory);

    async function setup(options: Partial<GreylistingOptions> = {}) {
      const s = stores();
      await s.seedGreylist(GLOBAL_ON);
      const log: CallLog = callLog();
      return { s, log, ...(await writeBehindPlugin(counted(s.greylist, log), options)) };
    }

    it('answers a first attempt after the context alone, then writes the row recordAttempt would write', async () => {
      const { s, log, run, plugin, clock } = await setup();
      const decision = await run();
      expectNewTriplet(decision);
      expect(log.calls.slice(0, 1)).toEqual(['loadContext']);
      expect(log.calls).not.toContain('recordAttempt');
      await plugin.close?.();
      expect(log.calls).toEqual(['loadContext', 'recordFirstAttempts']);
      const reference = await s.greylist.recordAttempt(
        {
          sender: 'x@example.net',
          senderDomain: 'example.net',
          recipient: 'user@example.com',
          recipientDomain: 'example.com',
          clientKey: '192.0.2.10',
        },
        {
          now: clock.now(),
          blockExpiresAt: clock.now() + 15 * MINUTE,
          unauthExpiresAt: clock.now() + 86_400_000,
          authExpiresAt: clock.now() + 30 * 86_400_000,
        },
      );
      const rows = await s.greylist.findTriplets('192.0.2.10');
      expect(rows.find((r) => r.sender === 'sender@example.net')).toEqual({
        ...reference.triplet,
        sender: 'sender@example.net',
      });
    });

    it('gives the same answers as recording before the answer, retry by retry', async () => {
      const { run, plugin, clock, log } = await setup();
      expectNewTriplet(await run());
      await plugin.close?.();
      clock.advance(5 * MINUTE);
      resetLog(log);
      expect((await run()).reason).toMatch(/^greylisted: retry too early, 10m left \(deferred 2 times\)/);
      expect(log.calls).toEqual(['loadContext', 'recordAttempt']);
      clock.advance(10 * MINUTE);
      expect((await run()).reason).toBe('passed greylisting: retried after 15m');
      expect((await run({ sender: 'other@example.org' })).reason).toMatch(/passed greylisting before/);
    });

    it('batches the first attempts that arrive while a write is in flight', async () => {
      const { s, run, plugin, log } = await setup();
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => run({ sender: `s${i}@example.net` })),
      );
      for (const answer of answers) expectNewTriplet(answer);
      await plugin.close?.();
      const writes = log.calls.filter((c) => c === 'recordFirstAttempts').length;
      expect(writes).toBeGreaterThanOrEqual(1);
      expect(writes).toBeLessThan(40);
      expect(await s.greylist.findTriplets('192.0.2.10')).toHaveLength(40);
    });

    it('defers concurrent first attempts of one triplet and stores one row', async () => {
      const { s, run, plugin } = await setup();
      const answers = await Promise.all([run(), run(), run()]);
      // Each is deferred; one that reads the context after another's row is written is an early retry.
      for (const answer of answers) {
        expect(answer).toMatchObject({ action: 'REPLY', code: 451 });
        expect(answer.reason).toMatch(/^greylisted: (new triplet|retry too early)/);
      }
      await plugin.close?.();
      const rows = await s.greylist.findTriplets('192.0.2.10');
      expect(rows).toHaveLength(1);
      const early = answers.filter((a) => a.reason?.startsWith('greylisted: retry too early')).length;
      expect(rows[0]).toMatchObject({ sender: 'sender@example.net', blockedCount: 1 + early });
    });

    it('logs a triplet too long for its columns, stores nothing, and keeps deferring it', async () => {
      const { s, run, plugin, logger } = await setup();
      const sender = `${'x'.repeat(250)}@example.net`;
      expect(await run({ sender })).toMatchObject({ action: 'REPLY', code: 451 });
      await plugin.close?.();
      expect(await s.greylist.findTriplets('192.0.2.10')).toEqual([]);
      expect(logger.lines).toEqual([
        {
          level: 'warn',
          msg: `greylisting: triplet not recorded, a value is longer than its column (${sender} -> user@example.com, client 192.0.2.10)`,
        },
      ]);
      expect((await run({ sender })).reason).toMatch(/^greylisted: new triplet/);
    });

    it('records before answering when not initialised (outside createPolicy)', async () => {
      const s = stores();
      await s.seedGreylist(GLOBAL_ON);
      const log = callLog();
      const plugin = greylisting({ store: counted(s.greylist, log), writeBehindFirstAttempts: true });
      await plugin.check(request(), context(fixedClock().now));
      expect(log.calls).toEqual(['loadContext', 'recordAttempt']);
      expect(await s.greylist.findTriplets('192.0.2.10')).toHaveLength(1);
    });
  });
}
