import { existsSync } from 'node:fs';
import { createFakeResolver } from '@policyd/core/testing';
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

async function settings(): Promise<string[]> {
  const storage = await box.storage();
  return (await storage.greylist.listSettings()).map(
    (s) => `${s.active ? 'on' : 'off'} ${s.sender} -> ${s.account} (${s.priority}/${s.senderPriority})`,
  );
}

describe('policyd-admin greylisting (greylisting_admin.py)', () => {
  it('prints the usage and exits 0 without arguments', async () => {
    const run = await box.run(['greylisting_admin'], { noDataDir: true });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Operations (the first given is done):');
    expect(run.stdout).toContain('--list-whitelist-domains');
  });

  it('runs the seed samples: list, enable, disable, delete', async () => {
    let run = await box.run(['greylisting', '--list']);
    expect(run).toEqual({ status: 0, stderr: '', stdout: '* No greylisting settings.\n' });

    run = await box.run(['greylisting', '--enable', '--to', '@example.com']);
    expect(run).toEqual({ status: 0, stderr: '', stdout: '* Enable greylisting: @. -> @example.com\n' });
    run = await box.run(['greylisting', '--disable', '--to', 'user@example.com']);
    expect(run.stdout).toBe('* Disable greylisting: @. -> user@example.com\n');
    run = await box.run(['greylisting', '--disable', '--from', '@gmail.com', '--to', 'user@example.com']);
    expect(run.stdout).toBe('* Disable greylisting: @gmail.com -> user@example.com\n');
    run = await box.run(['greylisting', '--enable', '--to', '@test.com']);
    expect(await settings()).toEqual([
      'off @gmail.com -> user@example.com (100/60)',
      'off @. -> user@example.com (100/0)',
      'on @. -> @example.com (60/0)',
      'on @. -> @test.com (60/0)',
    ]);

    run = await box.run(['greylisting', '--list']);
    expect(run.stdout).toBe(
      [
        'Status   Sender                             -> Local Account',
        '-'.repeat(78),
        'disabled @gmail.com                         -> user@example.com',
        'disabled @. (anyone)                        -> user@example.com',
        'enabled  @. (anyone)                        -> @example.com',
        'enabled  @. (anyone)                        -> @test.com',
        '',
      ].join('\n'),
    );
    run = await box.run(['greylisting', '--list', '--to', 'user@example.com']);
    expect(run.stdout.split('\n').slice(2, -1)).toEqual([
      'disabled @gmail.com                         -> user@example.com',
      'disabled @. (anyone)                        -> user@example.com',
    ]);

    run = await box.run(['greylisting', '--delete', '--to', '@test.com']);
    expect(run.stdout).toBe('* Delete greylisting setting: @. -> @test.com\n');
    run = await box.run(['greylisting', '--delete', '--to', '@test.com']);
    expect(run.stdout).toBe(
      '* Delete greylisting setting: @. -> @test.com\n* No such greylisting setting.\n',
    );
    expect(await settings()).toHaveLength(3);
  });

  it('lower-cases and canonicalises --from and --to (iRedAPD stored them as typed, B35)', async () => {
    const run = await box.run([
      'greylisting',
      '--disable',
      '--from',
      '2001:DB8::/32',
      '--to',
      '@Example.COM',
    ]);
    expect(run.stdout).toBe('* Disable greylisting: 2001:db8::/32 -> @example.com\n');
    expect(await settings()).toEqual(['off 2001:db8::/32 -> @example.com (60/70)']);
  });

  it('replaces a setting on --enable after --disable (one row per pair)', async () => {
    await box.run(['greylisting', '--disable', '--to', '@example.com']);
    await box.run(['greylisting', '--enable', '--to', '@example.com']);
    expect(await settings()).toEqual(['on @. -> @example.com (60/0)']);
  });

  it('does the first operation in iRedAPD order and notes the ignored ones', async () => {
    const run = await box.run(['greylisting', '--list', '--disable', '--enable', '--to', '@example.com']);
    expect(run.stdout).toBe('* Enable greylisting: @. -> @example.com\n');
    expect(run.stderr).toBe(
      '* Note: --enable takes precedence; ignoring --disable, --list (as iRedAPD does).\n',
    );
  });

  it("prints iRedAPD's errors for a missing operation and invalid addresses, and writes nothing", async () => {
    await freshBox();
    let run = await box.run(['greylisting', '--to', '@example.com']);
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: '<<< ERROR >>> No valid operation specified. Exit.\n',
    });
    run = await box.run(['greylisting', '--enable', '--from', 'gmail.com']);
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: '<<< ERROR >>> Invalid sender address: "gmail.com".\n',
    });
    run = await box.run(['greylisting', '--enable', '--to', '192.0.2.1']);
    expect(run.stderr).toBe('<<< ERROR >>> Invalid recipient address: "192.0.2.1".\n');
    run = await box.run(['greylisting', '--enable', '--to', '@example.com', 'stray']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("too many arguments for 'greylisting'");
    expect(existsSync(box.file)).toBe(false);
  });

  it('manages whitelisted senders: add (idempotent), list, remove', async () => {
    let run = await box.run(['greylisting', '--add-whitelist', '--from', '192.0.2.0/24']);
    expect(run.stdout).toBe('* Whitelist sender: 192.0.2.0/24 -> @.\n');
    run = await box.run(['greylisting', '--add-whitelist', '--from', '192.0.2.0/24']);
    expect(run.stdout).toBe('* Whitelist sender: 192.0.2.0/24 -> @.\n* Already whitelisted.\n');
    await box.run([
      'greylisting',
      '--add-whitelist',
      '--from',
      '@Partner.example',
      '--to',
      'user@example.com',
      '--comment',
      'supplier',
    ]);
    run = await box.run(['greylisting', '--list-whitelists']);
    expect(run.stdout).toBe("192.0.2.0/24 -> @., ''\n@partner.example -> user@example.com, 'supplier'\n");
    run = await box.run(['greylisting', '--list-whitelists', '--to', 'user@example.com']);
    expect(run.stdout).toBe("@partner.example -> user@example.com, 'supplier'\n");
    run = await box.run(['greylisting', '--remove-whitelist', '--from', '192.0.2.0/24']);
    expect(run.stdout).toBe('* Remove whitelisted sender: 192.0.2.0/24 -> @.\n');
    run = await box.run(['greylisting', '--remove-whitelist', '--from', '192.0.2.0/24']);
    expect(run.stdout).toContain('* No such whitelist entry.\n');
    run = await box.run(['greylisting', '--list-whitelists']);
    expect(run.stdout).toBe("@partner.example -> user@example.com, 'supplier'\n");
  });

  it('manages whitelisted sender domains, and removing one removes its generated entries (B23 fixed)', async () => {
    let run = await box.run(['greylisting', '--whitelist-domain', '--from', '@Example.org']);
    expect(run.stdout).toBe(
      '* Whitelisting sender domain: example.org\n' +
        '* Its IP addresses are whitelisted by the next spf_to_greylist_whitelists run ' +
        '(now: policyd-admin spf-whitelists example.org).\n',
    );
    run = await box.run(['greylisting', '--whitelist-domain', '--from', '@.example.org']);
    expect(run.stdout).toContain('* example.org is already a whitelisted sender domain.\n');
    await box.run(['greylisting', '--whitelist-domain', '--from', 'alpha.example']);
    run = await box.run(['greylisting', '--list-whitelist-domains']);
    expect(run.stdout).toBe('alpha.example\nexample.org\n');

    const resolver = createFakeResolver({ 'example.org': { TXT: [['v=spf1 ip4:203.0.113.0/24 -all']] } });
    expect((await box.run(['spf-whitelists', 'example.org'], { resolver })).status).toBe(0);
    run = await box.run(['greylisting', '--list-whitelists']);
    expect(run.stdout).toBe("203.0.113.0/24 -> @., 'AUTO-UPDATE: example.org'\n");

    run = await box.run(['greylisting', '--remove-whitelist-domain', '--from', '@example.org']);
    expect(run.stdout).toBe(
      '* Remove whitelisted sender domain: example.org\n' +
        '* Removed 1 whitelisted IP address/network of example.org.\n',
    );
    run = await box.run(['greylisting', '--list-whitelists']);
    expect(run.stdout).toBe('');
    run = await box.run(['greylisting', '--remove-whitelist-domain', '--from', '@example.org']);
    expect(run.stdout).toContain('* example.org was not a whitelisted sender domain.\n');
    expect((await box.run(['greylisting', '--list-whitelist-domains'])).stdout).toBe('alpha.example\n');
  });

  it('needs a sender domain for the whitelist-domain operations', async () => {
    await freshBox();
    let run = await box.run(['greylisting', '--whitelist-domain']);
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: '<<< ERROR >>> --whitelist-domain needs the sender domain: --from @example.com\n',
    });
    run = await box.run(['greylisting', '--remove-whitelist-domain', '--from', 'user@example.com']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      '<<< ERROR >>> Invalid sender domain: "user@example.com" (expected @example.com, @.example.com or ' +
        'example.com).\n',
    );
    expect(existsSync(box.file)).toBe(false);
  });
});
