import { existsSync } from 'node:fs';
import { createFakeResolver } from '@policyd/core/testing';
import { DEFAULT_WHITELIST_DOMAINS } from '@policyd/plugin-greylisting';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliSandbox, createCliSandbox } from './test-harness.ts';

let box: CliSandbox;
beforeEach(async () => {
  box = await createCliSandbox();
});
afterEach(async () => {
  await box.dispose();
});

/** Start from an empty directory: no database until a command creates one. */
async function freshBox(): Promise<void> {
  await box.dispose();
  box = await createCliSandbox({ fresh: true });
}

const ZONE = {
  'a.test': { TXT: [['v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all']] },
  'b.test': { MX: [{ exchange: 'mx.b.test', priority: 10 }] },
  'mx.b.test': { A: ['203.0.113.25'] },
};

async function generated(): Promise<string[]> {
  const storage = await box.storage();
  return (await storage.greylist.listWhitelists({ source: 'spf' })).map((w) => `${w.sender} ${w.comment}`);
}

async function domains(): Promise<readonly string[]> {
  const storage = await box.storage();
  return storage.greylist.listWhitelistDomains();
}

describe('policyd-admin spf-whitelists (spf_to_greylist_whitelists.py)', () => {
  it('whitelists the SPF networks or MX hosts of the given domains and summarises what changed', async () => {
    const resolver = createFakeResolver(ZONE);
    const run = await box.run(['spf-whitelists', 'A.test', 'b.test'], { resolver });
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout:
        '* a.test: 2 added, 0 removed (spf)\n' +
        '    + 192.0.2.0/24\n' +
        '    + 198.51.100.7\n' +
        '* b.test: 1 added, 0 removed (mx)\n' +
        '    + 203.0.113.25\n' +
        '* Total: 2 domains, 3 added, 0 removed, 0 unchanged, 0 failed; 0 greylisting tracking records removed.\n',
    });
    expect(await generated()).toEqual([
      '192.0.2.0/24 AUTO-UPDATE: a.test',
      '198.51.100.7 AUTO-UPDATE: a.test',
      '203.0.113.25 AUTO-UPDATE: b.test',
    ]);
    expect(await domains()).toEqual([]); // without --submit the list is not touched
  });

  it('is silent for cron when nothing changed, and reports additions and removals when DNS changes', async () => {
    const resolver = createFakeResolver(ZONE);
    await box.run(['spf-whitelists', 'a.test', 'b.test'], { resolver });
    let run = await box.run(['spf-whitelists', 'a.test', 'b.test'], { resolver });
    expect(run).toEqual({ status: 0, stdout: '', stderr: '' });

    resolver.set('a.test', { TXT: [['v=spf1 ip4:192.0.2.0/24 ip6:2001:DB8::/32 -all']] });
    run = await box.run(['spf-whitelists', 'a.test', 'b.test'], { resolver });
    expect(run.stdout).toBe(
      '* a.test: 1 added, 1 removed (spf)\n' +
        '    + 2001:db8::/32\n' +
        '    - 198.51.100.7\n' +
        '* Total: 2 domains, 1 added, 1 removed, 2 unchanged, 0 failed; 0 greylisting tracking records removed.\n',
    );
    expect(await generated()).toEqual([
      '192.0.2.0/24 AUTO-UPDATE: a.test',
      '2001:db8::/32 AUTO-UPDATE: a.test',
      '203.0.113.25 AUTO-UPDATE: b.test',
    ]);
  });

  it('keeps the entries of a domain whose DNS fails, reports it on stderr and exits 3', async () => {
    const resolver = createFakeResolver(ZONE);
    await box.run(['spf-whitelists', 'a.test', 'b.test'], { resolver });
    resolver.set('a.test', { error: 'ETIMEOUT' });
    resolver.set('mx.b.test', { A: ['203.0.113.26'] });
    const run = await box.run(['spf-whitelists', 'a.test', 'b.test'], { resolver });
    expect(run.status).toBe(3);
    expect(run.stderr).toMatch(/^\* a\.test: FAILED, kept 2 entries: .*ETIMEOUT/);
    expect(run.stderr).toContain('<<< ERROR >>> 1 domain could not be resolved; their entries were kept.\n');
    expect(run.stdout).toContain(
      '* b.test: 1 added, 1 removed (mx)\n    + 203.0.113.26\n    - 203.0.113.25\n',
    );
    expect(run.stdout).toContain('1 failed;');
    expect(await generated()).toEqual([
      '192.0.2.0/24 AUTO-UPDATE: a.test',
      '198.51.100.7 AUTO-UPDATE: a.test',
      '203.0.113.26 AUTO-UPDATE: b.test',
    ]);
  });

  it('refreshes every domain of greylisting_whitelist_domains without arguments, and --submit adds them', async () => {
    const resolver = createFakeResolver(ZONE);
    let run = await box.run(['spf-whitelists', '--submit', 'a.test'], { resolver });
    expect(run.stdout).toContain('* Added whitelist domain: a.test\n* a.test: 2 added');
    await box.run(['greylisting', '--whitelist-domain', '--from', '@b.test']);
    expect(await domains()).toEqual(['a.test', 'b.test']);
    run = await box.run(['spf_to_greylist_whitelists'], { resolver });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      '* b.test: 1 added, 0 removed (mx)\n    + 203.0.113.25\n' +
        '* Total: 2 domains, 1 added, 0 removed, 2 unchanged, 0 failed; 0 greylisting tracking records removed.\n',
    );
  });

  it('deletes the greylisting tracking rows of newly whitelisted addresses', async () => {
    const storage = await box.storage();
    const now = Date.now();
    await storage.greylist.recordAttempt(
      {
        sender: 'x@a.test',
        senderDomain: 'a.test',
        recipient: 'user@example.com',
        recipientDomain: 'example.com',
        clientKey: '198.51.100.7',
      },
      {
        now,
        blockExpiresAt: now + 900_000,
        unauthExpiresAt: now + 86_400_000,
        authExpiresAt: now + 86_400_000,
      },
    );
    const run = await box.run(['spf-whitelists', 'a.test'], { resolver: createFakeResolver(ZONE) });
    expect(run.stdout).toContain('0 failed; 1 greylisting tracking record removed.\n');
    expect(await storage.greylist.findTriplets('198.51.100.7')).toEqual([]);
  });

  it('is quiet without whitelist domains unless on a terminal', async () => {
    const resolver = createFakeResolver(ZONE);
    let run = await box.run(['spf-whitelists'], { resolver });
    expect(run).toEqual({ status: 0, stdout: '', stderr: '' });
    run = await box.run(['spf-whitelists'], { resolver, tty: true });
    expect(run.stdout).toBe('* No whitelist domains. Add some with --submit <domain> or --seed-defaults.\n');
  });

  it('shows progress, the domain count and a total on a terminal', async () => {
    const zone: Record<string, { TXT: string[][] }> = {};
    const names = Array.from({ length: 10 }, (_, i) => `d${i}.test`);
    for (const [i, name] of names.entries()) zone[name] = { TXT: [[`v=spf1 ip4:192.0.2.${i} -all`]] };
    await box.run(['spf-whitelists', '--submit', ...names], { resolver: createFakeResolver(zone) });
    const run = await box.run(['spf-whitelists'], { resolver: createFakeResolver(zone), tty: true });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('* 10 mail domains in total.\n');
    expect(run.stdout).toContain('\r\u001b[K  Refreshing whitelist domains: 0/10');
    expect(run.stdout).toContain('\r\u001b[K  Refreshing whitelist domains: 8/10');
    expect(run.stdout).toMatch(
      /\r\u001b\[K\* Total: 10 domains, 0 added, 0 removed, 10 unchanged, 0 failed; 0 greylisting tracking records removed\.\n$/,
    );
  });

  it('shows unchanged domains, shared values and skipped terms with --verbose (or --debug)', async () => {
    const resolver = createFakeResolver({
      ...ZONE,
      'c.test': { TXT: [['v=spf1 ip4:192.0.2.0/24 ptr exists:%{i}.x.test -all']] },
    });
    await box.run(['spf-whitelists', 'a.test'], { resolver });
    const run = await box.run(['spf-whitelists', '--debug', 'a.test', 'c.test'], { resolver });
    expect(run.stdout).toContain('* 2 mail domains in total.\n* a.test: unchanged, 2 entries (spf)\n');
    expect(run.stdout).toContain('    = 192.0.2.0/24 (already whitelisted for a.test)\n');
    expect(run.stdout).toMatch(/ptr/);
  });

  it('adds the shipped provider list with --seed-defaults, then refreshes every domain', async () => {
    const resolver = createFakeResolver({ 'google.com': { TXT: [['v=spf1 ip4:192.0.2.0/24 -all']] } });
    const run = await box.run(['spf-whitelists', '--seed-defaults'], { resolver });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      `* Added ${DEFAULT_WHITELIST_DOMAINS.length} default whitelist domains (0 already listed).\n`,
    );
    expect(run.stdout).toContain('* google.com: 1 added, 0 removed (spf)\n');
    expect(await domains()).toEqual([...DEFAULT_WHITELIST_DOMAINS].sort());
    const again = await box.run(['spf-whitelists', '--seed-defaults'], { resolver });
    expect(again.stdout).toBe(
      `* Added 0 default whitelist domains (${DEFAULT_WHITELIST_DOMAINS.length} already listed).\n`,
    );
  });

  it('rejects invalid domains, --submit without domains and --seed-defaults with domains; writes nothing', async () => {
    await freshBox();
    const resolver = createFakeResolver(ZONE);
    let run = await box.run(['spf-whitelists', '--submit', 'a.test', 'not a domain', '@b.test'], {
      resolver,
    });
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr:
        '<<< ERROR >>> Invalid domain names: "not a domain", "@b.test" (expected names such as example.com). ' +
        'Nothing was changed.\n',
    });
    run = await box.run(['spf-whitelists', '--submit'], { resolver });
    expect(run.stderr).toBe(
      '<<< ERROR >>> --submit needs the domain names to add: --submit example.com [domain ...]\n',
    );
    expect(run.status).toBe(1);
    run = await box.run(['spf-whitelists', '--seed-defaults', 'a.test'], { resolver });
    expect(run.status).toBe(1);
    expect(resolver.queries).toEqual([]);
    expect(existsSync(box.file)).toBe(false);
  });
});
