import { createFakeResolver } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { createSpfBypass, type SpfDnsResolver, type SpfQuestion } from './spf-bypass.ts';

const ZONE = {
  'example.net': { TXT: [['v=spf1 include:_spf.example.net ip4:198.51.100.128/25 -all']] },
  '_spf.example.net': { TXT: [['v=spf1 ip6:2001:db8::/32 a:out.example.net ~all']] },
  'out.example.net': { A: ['192.0.2.5'] },
  'soft.test': { TXT: [['v=spf1 ~all']] },
  'neutral.test': { TXT: [['v=spf1 ?all']] },
  'broken.test': { error: 'ESERVFAIL' },
  'double.test': { TXT: [['v=spf1 -all'], ['v=spf1 +all']] },
  'slow.test': { TXT: [['v=spf1 +all']], delayMs: 1_000 },
  'ptr.test': { TXT: [['v=spf1 ptr ip4:203.0.113.0/24 -all']] },
};

function bypass(
  options: { timeoutMs?: number; cacheTtlMs?: number; cacheSize?: number; dns?: SpfDnsResolver } = {},
) {
  const dns = createFakeResolver(ZONE);
  const check = createSpfBypass({
    dns: options.dns ?? dns,
    timeoutMs: options.timeoutMs ?? 1_000,
    cacheTtlMs: options.cacheTtlMs ?? 300_000,
    cacheSize: options.cacheSize ?? 100,
  });
  return { dns, check: check.check };
}

const question = (domain: string, ip: string, extra: Partial<SpfQuestion> = {}): SpfQuestion => ({
  domain,
  localPart: 'bob',
  ip,
  helo: 'mail.example.net',
  now: 0,
  ...extra,
});

describe('createSpfBypass', () => {
  it.each([
    ['198.51.100.200', 'pass'],
    ['192.0.2.5', 'pass'],
    ['2001:db8:1::1', 'pass'],
    ['198.51.100.1', 'fail'],
  ] as const)('evaluates %s for example.net as %s, through include and a:', async (ip, result) => {
    const { check } = bypass();
    expect(await check(question('example.net', ip))).toEqual({
      result,
      authorised: result === 'pass',
      cached: false,
    });
  });

  it.each([
    ['soft.test', 'softfail'],
    ['neutral.test', 'neutral'],
    ['missing.test', 'none'],
    ['broken.test', 'temperror'],
    ['double.test', 'permerror'],
  ] as const)('treats %s (%s) as not authorised', async (domain, result) => {
    const { check } = bypass();
    expect(await check(question(domain, '192.0.2.1'))).toMatchObject({ result, authorised: false });
  });

  it('stops waiting at the deadline', async () => {
    const { check } = bypass({ timeoutMs: 30 });
    const started = Date.now();
    expect(await check(question('slow.test', '192.0.2.1'))).toMatchObject({
      result: 'timeout',
      authorised: false,
    });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("stops waiting when the caller's signal fires", async () => {
    const { check } = bypass({ timeoutMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const verdict = await check(question('slow.test', '192.0.2.1', { signal: controller.signal }));
    expect(verdict).toMatchObject({ result: 'timeout', authorised: false });
  });

  it('reuses an answer until the cache time has passed', async () => {
    const { check, dns } = bypass({ cacheTtlMs: 60_000 });
    await check(question('example.net', '192.0.2.5'));
    const asked = dns.queries.length;
    expect(await check(question('example.net', '192.0.2.5', { now: 59_999 }))).toMatchObject({
      cached: true,
    });
    expect(dns.queries.length).toBe(asked);
    expect(await check(question('example.net', '192.0.2.5', { now: 60_000 }))).toMatchObject({
      cached: false,
    });
    expect(dns.queries.length).toBe(asked * 2);
  });

  it('keeps a temporary failure for at most 30 seconds', async () => {
    const { check, dns } = bypass({ cacheTtlMs: 600_000 });
    await check(question('broken.test', '192.0.2.1'));
    const asked = dns.queries.length;
    expect(await check(question('broken.test', '192.0.2.1', { now: 29_000 }))).toMatchObject({
      cached: true,
    });
    await check(question('broken.test', '192.0.2.1', { now: 30_000 }));
    expect(dns.queries.length).toBe(asked * 2);
  });

  it('caches nothing with a zero cache time, and at most cacheSize answers', async () => {
    const off = bypass({ cacheTtlMs: 0 });
    await off.check(question('soft.test', '192.0.2.1'));
    expect(await off.check(question('soft.test', '192.0.2.1'))).toMatchObject({ cached: false });

    const small = bypass({ cacheSize: 1 });
    await small.check(question('soft.test', '192.0.2.1'));
    await small.check(question('soft.test', '192.0.2.2'));
    expect(await small.check(question('soft.test', '192.0.2.2'))).toMatchObject({ cached: true });
    expect(await small.check(question('soft.test', '192.0.2.1'))).toMatchObject({ cached: false });
  });

  it('shares one evaluation between concurrent identical questions', async () => {
    const { check, dns } = bypass();
    const [a, b] = await Promise.all([
      check(question('example.net', '192.0.2.5')),
      check(question('example.net', '192.0.2.5')),
    ]);
    expect([a.cached, b.cached]).toEqual([false, true]);
    const single = bypass();
    await single.check(question('example.net', '192.0.2.5'));
    expect(dns.queries.length).toBe(single.dns.queries.length);
  });

  it('uses resolvePtr when the resolver has it, and finds nothing without it', async () => {
    const plain = bypass();
    expect(await plain.check(question('ptr.test', '203.0.113.9'))).toMatchObject({ result: 'pass' });
    expect(await plain.check(question('ptr.test', '192.0.2.77'))).toMatchObject({ result: 'fail' });

    const fake = createFakeResolver({ ...ZONE, 'mail.ptr.test': { A: ['192.0.2.77'] } });
    const withPtr: SpfDnsResolver = {
      ...fake,
      resolvePtr: async (name) => (name === '77.2.0.192.in-addr.arpa' ? ['mail.ptr.test'] : []),
    };
    const { check } = bypass({ dns: withPtr });
    expect(await check(question('ptr.test', '192.0.2.77'))).toMatchObject({ result: 'pass' });
  });
});
