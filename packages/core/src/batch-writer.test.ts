import { describe, expect, it } from 'vitest';
import { type BatchWriterOverload, createBatchWriter } from './batch-writer.ts';
import { isPolicydError } from './errors.ts';

// A `write` whose batches wait until the test settles them, one by one, in the order they started.
function controlled() {
  const calls: { batch: readonly number[]; resolve: () => void; reject: (err: Error) => void }[] = [];
  const written: number[] = [];
  let settled = 0;
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return {
    written,
    write: (batch: readonly number[]) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ batch: [...batch], resolve: () => resolve(void written.push(...batch)), reject });
      }),
    sizes: () => calls.map((c) => c.batch.length),
    async settle(err?: Error) {
      const call = calls[settled++];
      if (call === undefined) throw new Error('no batch in flight');
      if (err === undefined) call.resolve();
      else call.reject(err);
      await tick();
    },
    async settleAll() {
      while (settled < calls.length) await this.settle();
    },
  };
}

const ignore = () => {};

describe('createBatchWriter', () => {
  it('writes an item at once when a slot is free and batches the items that wait', async () => {
    const c = controlled();
    const writer = createBatchWriter({ name: 't', write: c.write, onFailure: ignore, maxConcurrent: 1 });
    expect(writer.offer(1)).toBe(true);
    expect(c.sizes()).toEqual([1]);
    for (let i = 2; i <= 5; i++) writer.offer(i);
    expect(c.sizes()).toEqual([1]);
    expect(writer.pending).toBe(5);
    await c.settle();
    expect(c.sizes()).toEqual([1, 4]);
    await c.settleAll();
    expect(c.written).toEqual([1, 2, 3, 4, 5]);
    expect(writer.pending).toBe(0);
  });

  it('takes at most maxBatch items per batch and runs at most maxConcurrent batches', async () => {
    const c = controlled();
    const writer = createBatchWriter({ name: 't', write: c.write, onFailure: ignore, maxBatch: 3 });
    for (let i = 0; i < 12; i++) writer.offer(i);
    expect(c.sizes()).toEqual([1, 1]);
    await c.settleAll();
    expect(c.sizes()).toEqual([1, 1, 3, 3, 3, 1]);
    expect(c.written).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('takes at most 100 items per batch by default', async () => {
    const c = controlled();
    const writer = createBatchWriter({ name: 't', write: c.write, onFailure: ignore });
    for (let i = 0; i < 252; i++) writer.offer(i);
    await c.settleAll();
    expect(c.sizes()).toEqual([1, 1, 100, 100, 50]);
  });

  it('refuses items beyond maxQueued, reports each overload episode once, and its end', async () => {
    const c = controlled();
    const events: BatchWriterOverload[] = [];
    const writer = createBatchWriter({
      name: 't',
      write: c.write,
      onFailure: ignore,
      onOverload: (e) => events.push(e),
      maxConcurrent: 1,
      maxQueued: 2,
    });
    const offered = Array.from({ length: 6 }, (_, i) => writer.offer(i));
    expect(offered).toEqual([true, true, true, false, false, false]);
    expect(writer.refused).toBe(3);
    expect(events).toEqual([{ state: 'full', maxQueued: 2 }]);
    await c.settleAll();
    expect(c.written).toEqual([0, 1, 2]);
    expect(events).toEqual([
      { state: 'full', maxQueued: 2 },
      { state: 'drained', refused: 3 },
    ]);
  });

  it('counts and reports a failed batch, including a write that throws or a reporter that throws, and goes on', async () => {
    const c = controlled();
    const failures: [string, readonly number[]][] = [];
    const writer = createBatchWriter({
      name: 't',
      write: c.write,
      onFailure: (err, batch) => failures.push([String(err), batch]),
      maxConcurrent: 1,
    });
    for (let i = 0; i < 3; i++) writer.offer(i);
    await c.settle();
    await c.settle(new Error('lost'));
    expect(writer.failed).toBe(2);
    expect(failures).toEqual([['Error: lost', [1, 2]]]);

    let calls = 0;
    const throwing = createBatchWriter<number>({
      name: 't',
      write: () => {
        if (calls++ === 0) throw new Error('not connected');
        return Promise.resolve();
      },
      onFailure: () => {
        throw new Error('reporter down');
      },
    });
    throwing.offer(1);
    await throwing.drain();
    throwing.offer(2);
    await throwing.drain();
    expect([throwing.failed, throwing.pending, calls]).toEqual([1, 0, 2]);
  });

  it('drains at once when idle, and after every queued item otherwise', async () => {
    const c = controlled();
    const writer = createBatchWriter({ name: 't', write: c.write, onFailure: ignore, maxConcurrent: 1 });
    await writer.drain();
    for (let i = 0; i < 3; i++) writer.offer(i);
    let drained = false;
    const done = writer.drain().then(() => {
      drained = true;
    });
    await c.settle();
    expect(drained).toBe(false);
    await c.settleAll();
    await done;
    expect(c.written).toEqual([0, 1, 2]);
  });

  it('refuses limits below 1, naming the writer and the option', () => {
    for (const bad of [{ maxConcurrent: 0 }, { maxBatch: 1.5 }, { maxQueued: -1 }]) {
      let error: unknown;
      try {
        createBatchWriter({ name: 'audit writer', write: async () => {}, onFailure: ignore, ...bad });
      } catch (err) {
        error = err;
      }
      expect(isPolicydError(error, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(/^audit writer: max\w+ must be an integer ≥ 1/);
    }
  });
});
