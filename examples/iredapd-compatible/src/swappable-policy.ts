/**
 * A Policy whose plugins can be replaced while the server runs (SIGHUP): the server keeps one Policy object and
 * its connections stay open; each request runs on the policy current when it arrived, and a replaced policy is
 * closed once the requests it was running have finished.
 */

import { type Evaluation, type Policy, PolicydError, type PolicyRequest } from '@policyd/core';

/** A {@link Policy} that delegates to a replaceable one. */
export interface SwappablePolicy extends Policy {
  /** The policy requests are currently given to. */
  readonly current: Policy;
  /**
   * Give new requests to `next` from now on; resolves when the previous policy's running evaluations have
   * finished and it has been closed. Rejects with `POLICYD_ERR_CLOSED` after {@link Policy.close} (then
   * `next` is closed too).
   */
  swap(next: Policy): Promise<void>;
}

interface Slot {
  readonly policy: Policy;
  running: number;
  drained: (() => void) | undefined;
}

/**
 * Wrap `initial` so that it can be swapped.
 *
 * @example
 * ```ts
 * const policy = swappablePolicy(await createPolicy({ plugins }));
 * const server = createServer(policy);
 * process.on('SIGHUP', async () => policy.swap(await createPolicy({ plugins: await loadPlugins() })));
 * ```
 */
export function swappablePolicy(initial: Policy): SwappablePolicy {
  let slot: Slot = { policy: initial, running: 0, drained: undefined };
  let closing: Promise<void> | undefined;

  function settled(used: Slot): void {
    used.running--;
    if (used.running === 0) used.drained?.();
  }

  async function retire(old: Slot): Promise<void> {
    if (old.running > 0) await new Promise<void>((resolve) => (old.drained = resolve));
    await old.policy.close();
  }

  return {
    get plugins() {
      return slot.policy.plugins;
    },
    get current() {
      return slot.policy;
    },
    async evaluate(request: PolicyRequest, options?: { readonly signal?: AbortSignal }): Promise<Evaluation> {
      const used = slot;
      used.running++;
      try {
        return await used.policy.evaluate(request, options);
      } finally {
        settled(used);
      }
    },
    describe: () => slot.policy.describe(),
    async swap(next: Policy): Promise<void> {
      if (closing !== undefined) {
        await next.close();
        throw new PolicydError('POLICYD_ERR_CLOSED', 'swap() was called after the policy was closed');
      }
      const old = slot;
      slot = { policy: next, running: 0, drained: undefined };
      await retire(old);
    },
    close() {
      closing ??= retire(slot);
      return closing;
    },
  };
}
