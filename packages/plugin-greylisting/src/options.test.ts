import { createMemoryGreylistStore, createTrustedNetworks, isPolicydError } from '@policyd/core';
import { createFakeResolver } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GREYLISTING_MESSAGE,
  type GreylistingOptions,
  resolveGreylistingOptions,
} from './options.ts';

const store = createMemoryGreylistStore();

function rejected(options: Record<string, unknown>): unknown {
  try {
    resolveGreylistingOptions({ store, ...options } as unknown as GreylistingOptions);
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('resolveGreylistingOptions', () => {
  it("applies iRedAPD's defaults", () => {
    const o = resolveGreylistingOptions({ store });
    expect(o).toMatchObject({
      message: DEFAULT_GREYLISTING_MESSAGE,
      trainingMode: false,
      blockMs: 15 * 60_000,
      authExpireMs: 30 * 86_400_000,
      unauthExpireMs: 86_400_000,
      bypassSpf: true,
      dnsTimeoutMs: 3_000,
      spfCacheTtlMs: 300_000,
      spfCacheSize: 10_000,
      srsDomain: '',
      groupByNetwork: undefined,
      autoWhitelistClients: 1,
      passedClientCacheTtlMs: 0,
      passedClientCacheSize: 10_000,
      priority: 80,
      domains: undefined,
    });
    expect(DEFAULT_GREYLISTING_MESSAGE).toBe('Intentional policy rejection, please try again later');
    expect(o.dns).toBeDefined();
    expect(o.trusted.contains('127.0.0.1')).toBe(true);
    expect(o.trusted.contains('192.0.2.1')).toBe(false);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('takes every option', () => {
    const dns = createFakeResolver();
    const trusted = createTrustedNetworks(['10.0.0.0/8']);
    const o = resolveGreylistingOptions({
      store,
      message: 'Try later',
      trainingMode: true,
      blockExpireMinutes: 5,
      authTripletExpireDays: 7,
      unauthTripletExpireDays: 0.5,
      mynetworks: trusted,
      dns,
      dnsTimeoutMs: 500,
      spfCacheTtlMs: 0,
      spfCacheSize: 5,
      srsDomain: ' SRS.Example.com ',
      groupByNetwork: { v4Prefix: 20 },
      autoWhitelistClients: 3,
      passedClientCacheTtlMs: 60_000,
      passedClientCacheSize: 50,
      priority: 10,
    });
    expect(o).toMatchObject({
      message: 'Try later',
      trainingMode: true,
      blockMs: 300_000,
      authExpireMs: 7 * 86_400_000,
      unauthExpireMs: 43_200_000,
      trusted,
      dns,
      dnsTimeoutMs: 500,
      spfCacheTtlMs: 0,
      spfCacheSize: 5,
      srsDomain: 'srs.example.com',
      groupByNetwork: { v4Prefix: 20, v6Prefix: 64 },
      autoWhitelistClients: 3,
      passedClientCacheTtlMs: 60_000,
      passedClientCacheSize: 50,
      priority: 10,
    });
    expect(resolveGreylistingOptions({ store, groupByNetwork: true }).groupByNetwork).toEqual({
      v4Prefix: 24,
      v6Prefix: 64,
    });
    expect(
      resolveGreylistingOptions({ store, mynetworks: ['192.168.*.*'] }).trusted.contains('192.168.3.4'),
    ).toBe(true);
  });

  it('needs no DNS when the SPF bypass is off', () => {
    expect(resolveGreylistingOptions({ store, bypassSpf: false }).dns).toBeUndefined();
  });

  it.each([
    ['store', { store: {} }],
    ['domains', { domains: {} }],
    ['message', { message: '  ' }],
    ['trainingMode', { trainingMode: 'yes' }],
    ['blockExpireMinutes', { blockExpireMinutes: -1 }],
    ['authTripletExpireDays', { authTripletExpireDays: Number.NaN }],
    ['unauthTripletExpireDays', { unauthTripletExpireDays: '1' }],
    ['unauthTripletExpireDays', { blockExpireMinutes: 24 * 60 + 1 }],
    ['bypassSpf', { bypassSpf: 1 }],
    ['dns', { dns: { resolveTxt: () => [] } }],
    ['dnsTimeoutMs', { dnsTimeoutMs: 0 }],
    ['spfCacheTtlMs', { spfCacheTtlMs: -5 }],
    ['spfCacheSize', { spfCacheSize: 1.5 }],
    ['srsDomain', { srsDomain: 1 }],
    ['groupByNetwork', { groupByNetwork: { v4Prefix: 33 } }],
    ['groupByNetwork', { groupByNetwork: 'yes' }],
    ['autoWhitelistClients', { autoWhitelistClients: -1 }],
    ['passedClientCacheTtlMs', { passedClientCacheTtlMs: -1 }],
    ['passedClientCacheTtlMs', { passedClientCacheTtlMs: '60000' }],
    ['passedClientCacheTtlMs', { passedClientCacheTtlMs: Number.POSITIVE_INFINITY }],
    ['passedClientCacheSize', { passedClientCacheSize: 2.5 }],
    ['passedClientCacheSize', { passedClientCacheSize: -1 }],
    ['priority', { priority: Number.POSITIVE_INFINITY }],
    ['mynetworks', { mynetworks: 'x' }],
  ])('rejects a bad %s', (name, options) => {
    const err = rejected(options);
    expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain(name);
  });

  it('rejects a bad MYNETWORKS entry, naming it', () => {
    const err = rejected({ mynetworks: ['172.16.1.1/24'] });
    expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('172.16.1.1/24');
  });
});
