import { existsSync } from 'node:fs';
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

async function entries(account: string, direction: 'inbound' | 'outbound' = 'inbound') {
  const storage = await box.storage();
  return (await storage.wblist.list({ account, direction })).map((e) => `${e.list}:${e.address}`).sort();
}

describe('policyd-admin wblist (wblist_admin.py)', () => {
  it('prints the usage and exits 0 without arguments, as iRedAPD does', async () => {
    await freshBox();
    const run = await box.run(['wblist'], { noDataDir: true });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: policyd-admin wblist|wblist_admin [options] [addresses...]');
    expect(run.stdout).toContain('--delete-all');
    expect(existsSync(box.file)).toBe(false);
  });

  it('runs the seed samples for server-wide lists', async () => {
    let run = await box.run(['wblist', '--add', '--whitelist', '192.168.1.10', 'user@example.com']);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout:
        '* Add inbound whitelist for account: @.\n' +
        '* Add senders: 192.168.1.10, user@example.com\n' +
        '- Added: 192.168.1.10\n' +
        '- Added: user@example.com\n',
    });
    run = await box.run(['wblist', '--add', '--blacklist', '172.16.1.10', 'baduser@example.com']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('* Add inbound blacklist for account: @.\n');

    run = await box.run(['wblist', '--list', '--whitelist']);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout: '* List all inbound whitelist for account: @.\n192.168.1.10\nuser@example.com\n',
    });
    run = await box.run(['wblist', '--list', '--blacklist']);
    expect(run.stdout).toBe(
      '* List all inbound blacklist for account: @.\n172.16.1.10\nbaduser@example.com\n',
    );
    expect(await entries('@.')).toEqual([
      'blacklist:172.16.1.10',
      'blacklist:baduser@example.com',
      'whitelist:192.168.1.10',
      'whitelist:user@example.com',
    ]);
  });

  it('runs the seed samples for per-user lists with --account', async () => {
    const account = ['--account', 'user@mydomain.com'];
    let run = await box.run([
      'wblist',
      ...account,
      '--add',
      '--whitelist',
      '192.168.1.10',
      'user@example.com',
    ]);
    expect(run.stdout).toContain('* Add inbound whitelist for account: user@mydomain.com\n');
    run = await box.run(['wblist', ...account, '--add', '--blacklist', '172.16.1.10', 'baduser@example.com']);
    expect(run.status).toBe(0);
    run = await box.run(['wblist', ...account, '--list', '--whitelist']);
    expect(run.stdout).toBe(
      '* List all inbound whitelist for account: user@mydomain.com\n192.168.1.10\nuser@example.com\n',
    );
    run = await box.run(['wblist', ...account, '--list', '--blacklist']);
    expect(run.stdout).toBe(
      '* List all inbound blacklist for account: user@mydomain.com\n172.16.1.10\nbaduser@example.com\n',
    );
    expect(await entries('@.')).toEqual([]);
  });

  it('takes flags anywhere, lower-cases addresses and answers to wblist_admin', async () => {
    const run = await box.run([
      'wblist_admin',
      'User@Example.COM',
      '--whitelist',
      '192.0.2.0/24',
      '--account',
      '@MyDomain.com',
      '--add',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('* Add inbound whitelist for account: @mydomain.com\n');
    expect(run.stdout).toContain('* Add senders: user@example.com, 192.0.2.0/24\n');
    expect(await entries('@mydomain.com')).toEqual(['whitelist:192.0.2.0/24', 'whitelist:user@example.com']);
  });

  it('adds idempotently and moves an address between the lists', async () => {
    await box.run(['wblist', '--add', '--whitelist', 'a@example.com']);
    let run = await box.run(['wblist', '--add', '--whitelist', 'a@example.com', 'b@example.com']);
    expect(run.stdout).toContain('- Added: b@example.com\n- Already listed: a@example.com\n');
    expect(await entries('@.')).toEqual(['whitelist:a@example.com', 'whitelist:b@example.com']);
    run = await box.run(['wblist', '--add', '--blacklist', 'a@example.com']);
    expect(run.stdout).toContain('- Added: a@example.com\n');
    expect(await entries('@.')).toEqual(['blacklist:a@example.com', 'whitelist:b@example.com']);
  });

  it('deletes listed addresses and says which were not listed', async () => {
    await box.run(['wblist', '--add', '--blacklist', 'a@example.com', '192.0.2.1']);
    const run = await box.run(['wblist', '--delete', '--blacklist', '192.0.2.1', 'zz@example.com']);
    expect(run).toEqual({
      status: 0,
      stderr: '',
      stdout:
        '* Delete inbound blacklist for account: @.\n- Deleted: 192.0.2.1\n- Not listed: zz@example.com\n',
    });
    expect(await entries('@.')).toEqual(['blacklist:a@example.com']);
  });

  it('deletes all entries of one list only with --delete-all', async () => {
    await box.run(['wblist', '--add', '--blacklist', 'a@example.com', '192.0.2.1']);
    await box.run(['wblist', '--add', '--whitelist', 'w@example.com']);
    const run = await box.run(['wblist', '--delete-all', '--blacklist']);
    expect(run.stdout).toBe('* Delete all inbound blacklist for account: @.\n- Deleted 2 entries.\n');
    expect(await entries('@.')).toEqual(['whitelist:w@example.com']);
  });

  it('manages outbound lists of recipients and refuses senders-only forms there', async () => {
    let run = await box.run([
      'wblist',
      '--outbound',
      '--account',
      'user@mydomain.com',
      '--add',
      '--blacklist',
      '@competitor.example',
    ]);
    expect(run.stdout).toBe(
      '* Add outbound blacklist for account: user@mydomain.com\n' +
        '* Add recipients: @competitor.example\n' +
        '- Added: @competitor.example\n',
    );
    expect(await entries('user@mydomain.com', 'outbound')).toEqual(['blacklist:@competitor.example']);
    run = await box.run(['wblist', '--outbound', '--add', '--blacklist', '192.0.2.1', 'x@example.com']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      '<<< ERROR >>> Invalid recipient: "192.0.2.1" (expected user@domain.com, @domain.com, @.domain.com, ' +
        '@.tld or @. (anyone)). Nothing was changed.\n',
    );
    expect(await entries('@.', 'outbound')).toEqual([]);
  });

  it('uses --whitelist when both lists are given, and the first action, with a note (iRedAPD precedence)', async () => {
    const run = await box.run(['wblist', '--list', '--blacklist', '--add', '--whitelist', 'a@example.com']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe(
      '* Note: --whitelist takes precedence; ignoring --blacklist (as iRedAPD does).\n' +
        '* Note: --add takes precedence; ignoring --list (as iRedAPD does).\n',
    );
    expect(await entries('@.')).toEqual(['whitelist:a@example.com']);
    const del = await box.run(['wblist', '--delete-all', '--delete', '--whitelist', 'a@example.com']);
    expect(del.stdout).toContain('- Deleted: a@example.com');
  });

  it("prints iRedAPD's messages for a missing list or action, exit 1, no database created", async () => {
    await freshBox();
    let run = await box.run(['wblist', '--add', 'a@example.com']);
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: '<<< ERROR >>> No --whitelist or --blacklist specified. Exit.\n',
    });
    run = await box.run(['wblist', '--whitelist', 'a@example.com']);
    expect(run.stderr).toBe('<<< ERROR >>> No --add, --delete or --list specified. Exit.\n');
    expect(run.status).toBe(1);
    expect(existsSync(box.file)).toBe(false);
  });

  it('rejects an invalid account with an error naming it', async () => {
    await freshBox();
    const run = await box.run(['wblist', '--account', 'nobody', '--list', '--whitelist']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      '<<< ERROR >>> Invalid account format: "nobody" (expected user@domain.com, @domain.com, @.domain.com, ' +
        '@.tld or @. (anyone)).\n',
    );
    expect(existsSync(box.file)).toBe(false);
  });

  it('rejects invalid senders, naming each, and writes nothing (iRedAPD dropped them silently)', async () => {
    await box.run(['wblist', '--add', '--whitelist', 'keep@example.com']);
    const run = await box.run([
      'wblist',
      '--add',
      '--whitelist',
      'new@example.com',
      'not-an-address',
      '1.2.3',
    ]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^<<< ERROR >>> Invalid senders: "not-an-address", "1\.2\.3" \(expected /);
    expect(run.stderr).toContain('Nothing was changed.');
    expect(await entries('@.')).toEqual(['whitelist:keep@example.com']);
  });

  it('needs addresses for --add and --delete, and ignores them with a note for --list', async () => {
    let run = await box.run(['wblist', '--add', '--whitelist']);
    expect(run).toEqual({ status: 1, stdout: '', stderr: '<<< ERROR >>> No sender specified. Exit.\n' });
    run = await box.run(['wblist', '--outbound', '--delete', '--whitelist']);
    expect(run.stderr).toBe('<<< ERROR >>> No recipient specified. Exit.\n');
    run = await box.run(['wblist', '--list', '--whitelist', 'x@example.com']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('* Note: --list takes no addresses; ignoring x@example.com.\n');
    expect(run.stdout).toBe('* List all inbound whitelist for account: @.\n* No whitelist/blacklist.\n');
  });

  it('refuses an unknown flag (iRedAPD took it for an address and dropped it)', async () => {
    await freshBox();
    const run = await box.run(['wblist', '--add', '--whitelist', '--bogus', 'a@example.com']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("error: unknown option '--bogus'");
    expect(existsSync(box.file)).toBe(false);
  });
});
