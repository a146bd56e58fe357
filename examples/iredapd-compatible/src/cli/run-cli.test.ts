import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_WHITELIST_DOMAINS } from '@policyd/plugin-greylisting';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProgress } from './progress.ts';
import { type CliSandbox, createCliSandbox } from './test-harness.ts';
import { formatTable, utcTime } from './text-table.ts';
import { parseBytes, parseCount, parsePeriod, parsePriority } from './throttle-values.ts';

let box: CliSandbox;
beforeEach(async () => {
  box = await createCliSandbox();
});
afterEach(async () => {
  await box.dispose();
});

async function settingsFile(lines: readonly string[]): Promise<string> {
  const file = join(box.dir, 'settings.py');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('policyd-admin', () => {
  it('lists the commands and the iRedAPD mapping with --help, exit 0', async () => {
    const run = await box.run(['--help'], { noDataDir: true });
    expect(run.status).toBe(0);
    for (const text of [
      'wblist|wblist_admin',
      'greylisting|greylisting_admin',
      'spf-whitelists|spf_to_greylist_whitelists',
      'cleanup|cleanup_db',
      'throttle',
      'fix_throttle_priority.py         policyd-admin throttle fix-priorities',
    ]) {
      expect(run.stdout).toContain(text);
    }
  });

  it('refuses an unknown command with exit 1', async () => {
    const run = await box.run(['frobnicate'], { noDataDir: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("error: unknown command 'frobnicate'");
  });

  it("uses the database of the daemon's settings file (--config)", async () => {
    const database = join(box.dir, 'elsewhere', 'iredapd.sqlite');
    const file = await settingsFile([
      'from libs.default_settings import *',
      "backend = 'sqlite'",
      "plugins = ['greylisting', 'amavisd_wblist']",
      `sqlite_db_path = ${JSON.stringify(database)}`,
    ]);
    let run = await box.run(['greylisting', '--enable', '--to', '@example.com', '--config', file], {
      noDataDir: true,
    });
    expect(run.status).toBe(0);
    expect(existsSync(database)).toBe(true);
    run = await box.run(['greylisting', '--list', '--config', file], { noDataDir: true });
    expect(run.stdout).toContain('enabled  @. (anyone)                        -> @example.com');
    run = await box.run(['greylisting', '--list']);
    expect(run.stdout).toBe('* No greylisting settings.\n');
  });

  it("gives a database it creates the daemon's first-start defaults, once", async () => {
    await box.dispose();
    box = await createCliSandbox({ fresh: true });
    let run = await box.run(['wblist', '--add', '--blacklist', '192.0.2.66']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe(
      '* New database: greylisting enabled for all senders and recipients, ' +
        `${DEFAULT_WHITELIST_DOMAINS.length} of ${DEFAULT_WHITELIST_DOMAINS.length} default whitelist domains ` +
        'listed (as an iRedMail installation does)\n',
    );
    run = await box.run(['greylisting', '--list']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('enabled  @. (anyone)                        -> @. (anyone)');
    run = await box.run(['greylisting', '--list-whitelist-domains']);
    expect(run.stdout.trim().split('\n')).toEqual([...DEFAULT_WHITELIST_DOMAINS].sort());
  });

  it('reports an invalid settings file with its line, exit 1', async () => {
    const file = await settingsFile(["backend = 'sqlite'", "plugins = ['greylisting']", 'listen_port = "x"']);
    const run = await box.run(['greylisting', '--list', '--config', file], { noDataDir: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^<<< ERROR >>> .*settings\.py:3.*listen_port/);
  });

  it('refuses a database the settings disable, exit 2, without connecting', async () => {
    const file = await settingsFile([
      "backend = 'mysql'",
      "plugins = ['amavisd_wblist']",
      "amavisd_db_password = ''",
    ]);
    const run = await box.run(['wblist', '--list', '--whitelist', '--config', file], { noDataDir: true });
    expect(run).toEqual({
      status: 2,
      stdout: '',
      stderr: `<<< ERROR >>> the amavisd database is disabled in ${file}: one of its amavisd_db_* settings is empty\n`,
    });
  });

  it('reports an unreachable database server with exit 2', async () => {
    const file = await settingsFile([
      "backend = 'pgsql'",
      "plugins = ['greylisting']",
      "iredapd_db_server = '127.0.0.1'",
      "iredapd_db_port = '1'",
    ]);
    const run = await box.run(['greylisting', '--list', '--config', file], { noDataDir: true });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^<<< ERROR >>> (database error|cannot open the database): /);
    expect(run.stdout).toBe('');
  });
});

describe('CLI helpers', () => {
  it('draws progress only on a terminal and clears it', () => {
    let text = '';
    const tty = createProgress({ isTTY: true, write: (chunk: string) => (text += chunk) });
    tty.update('1/3');
    tty.update('2/3');
    tty.clear();
    tty.clear();
    expect(text).toBe('\r\u001b[K1/3\r\u001b[K2/3\r\u001b[K');
    let plain = '';
    const pipe = createProgress({ write: (chunk: string) => (plain += chunk) });
    pipe.update('1/3');
    pipe.clear();
    expect(pipe.active).toBe(false);
    expect(plain).toBe('');
  });

  it('formats tables without trailing spaces, numbers right-aligned', () => {
    expect(
      formatTable(
        [{ title: 'name' }, { title: 'n', right: true }, { title: 'note' }],
        [
          ['a', '5', ''],
          ['long name', '12345', 'x'],
        ],
      ),
    ).toBe('name           n  note\n----------------------\na              5\nlong name  12345  x');
    expect(utcTime(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02 03:04:05');
  });

  it('parses throttle values with units and special values', () => {
    expect(parsePeriod('--period', '3600')).toBe(3600);
    expect(parsePeriod('--period', '90s')).toBe(90);
    expect(parsePeriod('--period', '30m')).toBe(1800);
    expect(parsePeriod('--period', '1H')).toBe(3600);
    expect(parsePeriod('--period', '2d')).toBe(172_800);
    expect(parsePeriod('--period', '0')).toBe(0);
    expect(() => parsePeriod('--period', '-1')).toThrow('Invalid --period: "-1"');
    expect(parseBytes('--msg-size', '-1')).toBe(-1);
    expect(parseBytes('--msg-size', '512k')).toBe(524_288);
    expect(parseBytes('--msg-size', '25M')).toBe(26_214_400);
    expect(parseBytes('--msg-size', '1G')).toBe(1_073_741_824);
    expect(() => parseBytes('--msg-size', '1.5M')).toThrow('Invalid --msg-size');
    expect(parseCount('--max-msgs', '0')).toBe(0);
    expect(parseCount('--max-msgs', '-1')).toBe(-1);
    expect(() => parseCount('--max-msgs', '10k')).toThrow('Invalid --max-msgs: "10k"');
    expect(() => parseCount('--max-msgs', '99999999999999999999')).toThrow('Invalid --max-msgs');
    expect(parsePriority('--priority', '255')).toBe(255);
    expect(() => parsePriority('--priority', '256')).toThrow('Invalid --priority');
  });
});
