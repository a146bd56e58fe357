import { createPolicy, Decision, isPolicydError, type PolicyPlugin } from '@policyd/core';
import { policyRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { swappablePolicy } from './swappable-policy.ts';

function plugin(name: string, answer: Decision, wait?: Promise<void>, closed?: string[]): PolicyPlugin {
  return {
    name,
    check: async () => {
      await wait;
      return answer;
    },
    close: () => {
      closed?.push(name);
    },
  };
}

describe('swappablePolicy', () => {
  it('delegates to the current policy and exposes its plugins', async () => {
    const policy = swappablePolicy(await createPolicy({ plugins: [plugin('a', Decision.reject('A'))] }));
    expect((await policy.evaluate(policyRequest())).decision).toEqual(Decision.reject('A'));
    expect(policy.plugins.map((p) => p.name)).toEqual(['a']);
    expect(policy.describe()).toContain('a');
  });

  it('gives new requests to the new policy and closes the old one after its running requests finish', async () => {
    const closed: string[] = [];
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    const policy = swappablePolicy(
      await createPolicy({ plugins: [plugin('old', Decision.reject('old'), slow, closed)] }),
    );
    const running = policy.evaluate(policyRequest());
    let swapped = false;
    const swap = policy
      .swap(await createPolicy({ plugins: [plugin('new', Decision.reject('new'), undefined, closed)] }))
      .then(() => (swapped = true));
    expect((await policy.evaluate(policyRequest())).decision).toEqual(Decision.reject('new'));
    await new Promise((r) => setTimeout(r, 10));
    expect(swapped).toBe(false);
    expect(closed).toEqual([]);
    release();
    expect((await running).decision).toEqual(Decision.reject('old'));
    await swap;
    expect(closed).toEqual(['old']);
    expect(policy.current.plugins.map((p) => p.name)).toEqual(['new']);
  });

  it('closes the current policy once, and refuses later swaps (closing what was offered)', async () => {
    const closed: string[] = [];
    const policy = swappablePolicy(
      await createPolicy({ plugins: [plugin('a', Decision.dunno(), undefined, closed)] }),
    );
    await Promise.all([policy.close(), policy.close()]);
    expect(closed).toEqual(['a']);
    const error = await policy
      .swap(await createPolicy({ plugins: [plugin('b', Decision.dunno(), undefined, closed)] }))
      .catch((e: unknown) => e);
    expect(isPolicydError(error, 'POLICYD_ERR_CLOSED')).toBe(true);
    expect(closed).toEqual(['a', 'b']);
    await expect(policy.evaluate(policyRequest())).rejects.toThrow(/closed/);
  });
});
