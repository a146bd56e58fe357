/**
 * `writeBehindFirstAttempts` when the writes fail or fall behind (memory store with a failing or stalled
 * `recordFirstAttempts`).
 */

import { createMemoryGreylistStore, type GreylistStore, PolicydError } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { GLOBAL_ON } from './harness.ts';
import { writeBehindPlugin } from './write-behind-suite.ts';

function seeded(): ReturnType<typeof createMemoryGreylistStore> {
  const store = createMemoryGreylistStore();
  store.seed(GLOBAL_ON);
  return store;
}

describe('greylisting plugin, write-behind first attempts, failures', () => {
  it('logs a failed write with the number of attempts lost; their retries count as first attempts', async () => {
    const inner = seeded();
    let down = true;
    const store: GreylistStore = {
      ...inner,
      recordFirstAttempts: (attempts) =>
        down
          ? Promise.reject(new PolicydError('POLICYD_ERR_STORE', 'connect ECONNREFUSED 127.0.0.1:3306'))
          : inner.recordFirstAttempts(attempts),
    };
    const { run, plugin, logger } = await writeBehindPlugin(store);
    await Promise.all([run(), run({ sender: 'b@example.net' }), run({ sender: 'c@example.net' })]);
    await plugin.close?.();
    // However the three fall into batches, every one is reported lost, with the cause.
    const errors = logger.lines.filter((l) => l.level === 'error').map((l) => l.msg);
    const lost = errors.map((msg) => {
      const m =
        /^greylisting: (\d) first attempts? not recorded, their retries count as first attempts again: PolicydError: connect ECONNREFUSED 127\.0\.0\.1:3306$/.exec(
          msg,
        );
      return Number(m?.[1]);
    });
    expect(lost.reduce((a, b) => a + b, 0)).toBe(3);
    expect(await inner.findTriplets('192.0.2.10')).toEqual([]);
    down = false;
    expect((await run()).reason).toMatch(/^greylisted: new triplet/);
    await plugin.close?.();
    expect(await inner.findTriplets('192.0.2.10')).toHaveLength(1);
  });

  it('records before answering while 10 000 rows wait, and says so once', async () => {
    const inner = seeded();
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store: GreylistStore = {
      ...inner,
      recordFirstAttempts: async (attempts) => {
        await stalled;
        return inner.recordFirstAttempts(attempts);
      },
    };
    const { run, plugin, logger } = await writeBehindPlugin(store);
    // 2 batches in flight (one row each) and 10 000 queued fill it; the next ones are recorded at once.
    for (let i = 0; i < 10_002; i++) await run({ sender: `s${i}@example.net` });
    expect(await inner.findTriplets('192.0.2.10')).toEqual([]);
    const late = await run({ sender: 'late@example.net' });
    expect(late.reason).toMatch(/^greylisted: new triplet/);
    expect((await inner.findTriplets('192.0.2.10')).map((t) => t.sender)).toEqual(['late@example.net']);
    await run({ sender: 'later@example.net' });
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      'greylisting: the database does not keep up, recording first attempts before answering until the queue drains',
    ]);
    release();
    await plugin.close?.();
    expect(await inner.findTriplets('192.0.2.10')).toHaveLength(10_004);
  });
});
