import { createFakeResolver, type FakeZoneEntry } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { expandSpf, type SpfExpansionOptions } from './spf-expand.ts';

const spf = (record: string): FakeZoneEntry => ({ TXT: [[record]] });

async function expand(
  zone: Record<string, FakeZoneEntry>,
  domain = 'example.com',
  options: Partial<SpfExpansionOptions> = {},
) {
  const dns = createFakeResolver(zone);
  return { ...(await expandSpf(domain, { dns, ...options })), queries: dns.queries };
}

describe('expandSpf', () => {
  it('collects + ip4 and ip6 terms, canonical, single hosts as addresses', async () => {
    const result = await expand({
      'example.com': spf(
        'v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 ip4:198.51.100.8/32 ip6:2001:DB8::/32 ip6:2001:db8:1::1/128 ' +
          '-ip4:203.0.113.1 ~ip4:203.0.113.2 ?ip4:203.0.113.3 +ip4:203.0.113.4 ip6:::ffff:192.0.3.0/120 -all',
      ),
    });
    expect(result).toMatchObject({ domain: 'example.com', source: 'spf', lookups: 0, voidLookups: 0 });
    expect(result.failure).toBeUndefined();
    expect(result.networks).toEqual([
      '192.0.2.0/24',
      '198.51.100.7',
      '198.51.100.8',
      '2001:db8::/32',
      '2001:db8:1::1',
      '203.0.113.4',
      '192.0.3.0/24',
    ]);
  });

  it('clears host bits (with a note), and skips invalid and overly broad networks', async () => {
    const result = await expand({
      'example.com': spf(
        'v=spf1 ip4:192.0.2.1/24 ip4:999.1.1.1 ip4:2001:db8::1 ip6:192.0.2.9 ip4:0.0.0.0/0 ip4:10.0.0.0/7 ip6:::/0 ip4',
      ),
    });
    expect(result.networks).toEqual(['192.0.2.0/24']);
    expect(result.notes).toEqual([
      'example.com: "ip4:192.0.2.1/24" has host bits set, used as 192.0.2.0/24',
      'example.com: "ip4:999.1.1.1" is not a valid ip4 term, skipped',
      'example.com: "ip4:2001:db8::1" is not a valid ip4 term, skipped',
      'example.com: "ip6:192.0.2.9" is not a valid ip6 term, skipped',
      'example.com: "ip4:0.0.0.0/0" is too broad, skipped',
      'example.com: "ip4:10.0.0.0/7" is too broad, skipped',
      'example.com: "ip6:::/0" is too broad, skipped',
      'example.com: "ip4" is not a valid ip4 term, skipped',
    ]);
  });

  it('never turns "+all" into a network', async () => {
    const result = await expand({ 'example.com': spf('v=spf1 ip4:192.0.2.1 +all') });
    expect(result.networks).toEqual(['192.0.2.1']);
    expect(result.notes).toEqual(['example.com: "+all" ignored (it authorises every address)']);
  });

  it('follows include chains, case-insensitively, and joins split TXT strings', async () => {
    const result = await expand({
      'example.com': { TXT: [['V=SPF1 Include:_a.example.com ', 'IP4:192.0.2.1 -all'], ['other text']] },
      '_a.example.com': spf('v=spf1 include:_b.example.com ip4:192.0.2.2 ~all'),
      '_b.example.com': spf('v=spf1 ip6:2001:db8::/48 -all'),
    });
    expect(result.networks).toEqual(['2001:db8::/48', '192.0.2.2', '192.0.2.1']);
    expect(result.lookups).toBe(2);
  });

  it('ignores non-pass includes but still counts them', async () => {
    const result = await expand({
      'example.com': spf('v=spf1 ~include:_soft.example.com -include:_fail.example.com ip4:192.0.2.1'),
      '_soft.example.com': spf('v=spf1 ip4:198.51.100.1'),
    });
    expect(result.networks).toEqual(['192.0.2.1']);
    expect(result.lookups).toBe(2);
    expect(result.queries.map((q) => q.name)).toEqual(['example.com']);
  });

  it('follows redirect= when the record has no all, and only then', async () => {
    const zone = {
      'example.com': spf('v=spf1 ip4:192.0.2.1 redirect=_spf.example.org'),
      'with-all.example.com': spf('v=spf1 ip4:192.0.2.1 redirect=_spf.example.org -all'),
      '_spf.example.org': spf('v=spf1 ip4:198.51.100.0/24 -all'),
    };
    const followed = await expand(zone);
    expect(followed.networks).toEqual(['192.0.2.1', '198.51.100.0/24']);
    expect(followed.lookups).toBe(1);
    expect((await expand(zone, 'with-all.example.com')).networks).toEqual(['192.0.2.1']);
  });

  it('ends include loops and lists duplicates once', async () => {
    const result = await expand({
      'example.com': spf('v=spf1 include:a.example.com include:b.example.com ip4:192.0.2.1'),
      'a.example.com': spf('v=spf1 include:b.example.com ip4:192.0.2.1 ip4:192.0.2.2'),
      'b.example.com': spf('v=spf1 include:a.example.com include:example.com ip4:192.0.2.2'),
    });
    expect(result.networks).toEqual(['192.0.2.2', '192.0.2.1']);
    expect(result.failure).toBeUndefined();
  });

  it('resolves a and mx terms to A and AAAA, with CIDR lengths', async () => {
    const result = await expand({
      'example.com': {
        ...spf('v=spf1 a a:web.example.com/24 a:v6.example.com//64 mx/28//56 mx:other.example.com -all'),
        A: ['192.0.2.10'],
        AAAA: ['2001:db8::10'],
        MX: [
          { exchange: 'mx2.example.com', priority: 20 },
          { exchange: 'mx1.example.com.', priority: 10 },
        ],
      },
      'web.example.com': { A: ['198.51.100.77'], AAAA: ['2001:db8:77::1'] },
      'v6.example.com': { AAAA: ['2001:db8:1:2:3::4'] },
      'mx1.example.com': { A: ['203.0.113.17'] },
      'mx2.example.com': { AAAA: ['2001:db8:ff:ff:1::1'] },
      'other.example.com': {
        MX: [
          { exchange: '.', priority: 0 },
          { exchange: 'mx.other.example', priority: 5 },
        ],
      },
      'mx.other.example': { A: ['192.0.2.200'] },
    });
    expect(result.networks).toEqual([
      '192.0.2.10',
      '2001:db8::10',
      '198.51.100.0/24',
      '2001:db8:77::1',
      '2001:db8:1:2::/64',
      '203.0.113.16/28',
      '2001:db8:ff::/56',
      '192.0.2.200',
    ]);
    expect(result.lookups).toBe(5);
    expect(result.voidLookups).toBe(0);
  });

  it('uses at most 10 MX hosts per mx term', async () => {
    const hosts = Array.from({ length: 12 }, (_, i) => ({ exchange: `mx${i}.example.com`, priority: i }));
    const zone: Record<string, FakeZoneEntry> = { 'example.com': { ...spf('v=spf1 mx'), MX: hosts } };
    for (let i = 0; i < 12; i++) zone[`mx${i}.example.com`] = { A: [`192.0.2.${i + 1}`] };
    const result = await expand(zone);
    expect(result.networks).toHaveLength(10);
    expect(result.notes).toContain('mx:example.com: 12 MX hosts, only the first 10 are used');
  });

  it('stops at the lookup limit of 10 terms, counting ptr and exists', async () => {
    const zone: Record<string, FakeZoneEntry> = {
      'example.com': spf(
        `v=spf1 ptr exists:%{i}.bl.example.com ${Array.from({ length: 10 }, (_, i) => `include:i${i}.example.com`).join(' ')} ip4:192.0.2.1`,
      ),
    };
    for (let i = 0; i < 10; i++) zone[`i${i}.example.com`] = spf(`v=spf1 ip4:198.51.100.${i}`);
    const result = await expand(zone);
    expect(result.lookups).toBe(10);
    expect(result.networks).toEqual(Array.from({ length: 8 }, (_, i) => `198.51.100.${i}`));
    expect(result.notes).toEqual([
      'example.com: "ptr" skipped (ptr cannot be turned into networks)',
      'example.com: "exists:%{i}.bl.example.com" skipped (exists cannot be turned into networks)',
      'example.com: lookup limit of 10 reached at "include:i8.example.com"; the rest of the record is ignored',
    ]);
    expect(result.failure).toBeUndefined();
    const more = await expand(zone, 'example.com', { maxLookups: 20 });
    expect(more.networks).toHaveLength(11);
  });

  it('stops after more than 2 void lookups', async () => {
    const result = await expand({
      'example.com': spf('v=spf1 include:n1.example.com a:n2.example.com mx:n3.example.com ip4:192.0.2.1'),
      'n3.example.com': { A: ['192.0.2.3'] },
    });
    expect(result.voidLookups).toBe(3);
    expect(result.networks).toEqual([]);
    expect(result.notes).toEqual([
      'include:n1.example.com: no records',
      'a:n2.example.com: no records',
      'mx:n3.example.com: no records',
      'void lookup limit of 2 exceeded; the rest of the record is ignored',
    ]);
  });

  it('notes includes without an SPF record, macros and unknown terms', async () => {
    const result = await expand({
      'example.com': spf(
        'v=spf1 include:txt.example.com include:%{d}.example.com a:%{d} foo:bar exp=explain.example.com ip4:192.0.2.1',
      ),
      'txt.example.com': { TXT: [['hello']] },
    });
    expect(result.networks).toEqual(['192.0.2.1']);
    expect(result.notes).toEqual([
      'include:txt.example.com: no SPF record',
      'example.com: "include:%{d}.example.com" uses a macro, skipped',
      'example.com: "a:%{d}" uses a macro, skipped',
      'example.com: unknown term "foo:bar" skipped',
    ]);
  });

  it('takes the MX hosts when there is no SPF record', async () => {
    const result = await expand({
      'example.com': {
        TXT: [['google-site-verification=abc']],
        MX: [{ exchange: 'mx.example.com', priority: 10 }],
      },
      'mx.example.com': { A: ['192.0.2.25'], AAAA: ['2001:db8::25'] },
    });
    expect(result).toMatchObject({ source: 'mx', networks: ['192.0.2.25', '2001:db8::25'] });
  });

  it('finds nothing for a domain without SPF record and MX hosts', async () => {
    expect(await expand({}, 'nowhere.example')).toMatchObject({
      source: 'none',
      networks: [],
      notes: ['nowhere.example: no SPF record and no MX hosts'],
    });
  });

  it('fails on several SPF records, DNS errors and timeouts, keeping what it found', async () => {
    const double = await expand({ 'example.com': { TXT: [['v=spf1 -all'], ['v=spf1 ip4:192.0.2.1']] } });
    expect(double.failure).toBe('example.com: several SPF records (RFC 7208 permerror)');

    const broken = await expand({
      'example.com': spf('v=spf1 ip4:192.0.2.1 include:broken.example.com'),
      'broken.example.com': { error: 'ESERVFAIL' },
    });
    expect(broken.failure).toBe('TXT broken.example.com: ESERVFAIL');
    expect(broken.networks).toEqual(['192.0.2.1']);

    const slow = await expand(
      {
        'example.com': spf('v=spf1 a:slow.example.com'),
        'slow.example.com': { A: ['192.0.2.1'], delayMs: 1_000 },
      },
      'example.com',
      { timeoutMs: 30 },
    );
    expect(slow.failure).toMatch(/^A{1,4} slow\.example\.com: ETIMEOUT$/);
  });

  it('fails when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await expand({ 'example.com': spf('v=spf1 -all') }, 'example.com', {
      signal: controller.signal,
    });
    expect(result.failure).toBe('TXT example.com: ETIMEOUT');
  });
});
