import { createMemoryStores, createTrustedNetworks, isPolicydError } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { resolveThrottleOptions, type ThrottleOptions } from './options.ts';

const { throttle: store, domains } = createMemoryStores();

function failure(options: unknown): unknown {
  try {
    resolveThrottleOptions(options as ThrottleOptions);
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('resolveThrottleOptions', () => {
  it("applies iRedAPD's defaults", () => {
    const resolved = resolveThrottleOptions({ store });
    expect(resolved).toMatchObject({
      bypassMynetworks: false,
      bypassLocalRecipient: true,
      bypassSameDomain: true,
      enableAllWildcardIp: false,
      algorithm: 'fixed',
      strictQuota: false,
      priority: 60,
      domains: undefined,
      onError: undefined,
    });
    expect(resolved.mynetworks.contains('127.0.0.1')).toBe(true);
    expect(resolved.mynetworks.contains('192.0.2.1')).toBe(false);
  });

  it('parses MYNETWORKS lists once and accepts a ready TrustedNetworks', () => {
    expect(resolveThrottleOptions({ store, mynetworks: ['10.*.*.*'] }).mynetworks.contains('10.1.2.3')).toBe(
      true,
    );
    const trusted = createTrustedNetworks(['192.0.2.0/24']);
    expect(resolveThrottleOptions({ store, domains, mynetworks: trusted }).mynetworks).toBe(trusted);
  });

  it('canonicalises dry-run accounts', () => {
    const resolved = resolveThrottleOptions({
      store,
      dryRun: { kinds: ['inbound'], accounts: [' @Example.COM', '2001:DB8::/32'] },
    });
    expect([...resolved.dryRunKinds]).toEqual(['inbound']);
    expect([...resolved.dryRunAccounts]).toEqual(['@example.com', '2001:db8::/32']);
  });

  it.each([
    [{}, 'store'],
    [{ store, domains: {} }, 'domains'],
    [{ store, bypassSameDomain: 'yes' }, 'bypassSameDomain'],
    [{ store, algorithm: 'gcra' }, 'algorithm'],
    [{ store, onLimitExceeded: 'mail' }, 'onLimitExceeded'],
    [{ store, priority: Number.NaN }, 'priority'],
    [{ store, onError: 'ignore' }, 'onError'],
    [{ store, timeoutMs: 0 }, 'timeoutMs'],
    [{ store, mynetworks: ['192.0.2.1/24'] }, 'mynetworks'],
    [{ store, dryRun: { kinds: ['sideways'] } }, 'dryRun.kinds'],
    [{ store, dryRun: { account: [] } }, 'dryRun'],
    [{ store, throttleBypassMynetworks: true }, 'throttleBypassMynetworks'],
  ])('refuses %o, naming %s', (options, name) => {
    const err = failure(options);
    expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain(name);
  });

  it('refuses a dry-run account that is not an account', () => {
    expect(
      isPolicydError(failure({ store, dryRun: { accounts: ['@com'] } }), 'POLICYD_ERR_INVALID_ACCOUNT'),
    ).toBe(true);
  });
});
