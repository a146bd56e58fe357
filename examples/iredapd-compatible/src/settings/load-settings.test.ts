import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isPolicydError } from '@policyd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, IREDAPD_DEFAULT_SETTINGS, SETTING_NAMES } from './defaults.ts';
import { defaultSettings, loadSettings, parseSettings } from './load-settings.ts';

const fixture = (name: string) => new URL(`../../test/fixtures/${name}`, import.meta.url).pathname;

const py = (text: string) => parseSettings(text, { file: 'settings.py', format: 'python' });
const json = (value: unknown) =>
  parseSettings(JSON.stringify(value, null, 2), { file: 'policyd.json', format: 'json' });
const REQUIRED = "backend = 'sqlite'\nplugins = ['greylisting']\n";

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

async function asyncErrorOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    if (isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('iRedMail-generated settings.py (MySQL)', async () => {
  const loaded = await loadSettings({
    file: fixture('iredmail-mysql-settings.py'),
    dataDir: '/var/lib/policyd',
  });

  it('reads every value the installer writes, with string ports converted', () => {
    const { settings } = loaded;
    expect(settings.listen_address).toBe('127.0.0.1');
    expect(settings.listen_port).toBe(7777);
    expect(settings.srs_forward_port).toBe(7778);
    expect(settings.backend).toBe('mysql');
    expect(settings.plugins).toEqual([
      'reject_null_sender',
      'wblist_rdns',
      'reject_sender_login_mismatch',
      'greylisting',
      'throttle',
      'amavisd_wblist',
      'sql_alias_access_policy',
    ]);
    expect(settings.MYNETWORKS).toEqual(['192.168.1.10']);
    expect(settings.SQL_DB_DRIVER).toBe('pymysql');
  });

  it('fills in iRedAPD defaults for everything the file leaves out', () => {
    expect(loaded.settings.GREYLISTING_MESSAGE).toBe('Intentional policy rejection, please try again later');
    expect(loaded.settings.GREYLISTING_BLOCK_EXPIRE).toBe(15);
    expect(loaded.settings.RECIPIENT_DELIMITERS).toEqual(['+']);
    expect(loaded.settings.PLUGIN_PRIORITIES).toEqual({});
    expect(loaded.settings.LOG_SMTP_SESSIONS).toBe(true);
  });

  it('maps the databases and the listener', () => {
    expect(loaded.config.listen).toEqual({ host: '127.0.0.1', port: 7777 });
    expect(loaded.config.storage).toEqual({
      backend: 'mysql',
      vmail: {
        host: '127.0.0.1',
        port: 3306,
        database: 'vmail',
        user: 'vmail',
        password: 'Vm4il-PW',
        ssl: false,
      },
      amavisd: {
        host: '127.0.0.1',
        port: 3306,
        database: 'amavisd',
        user: 'amavisd',
        password: 'Am4visd-PW',
        ssl: false,
      },
      iredapd: {
        host: '127.0.0.1',
        port: 3306,
        database: 'iredapd',
        user: 'iredapd',
        password: 'Ir3dapd-PW',
        ssl: false,
      },
      pool: { size: 10, maxOverflow: 10, recycleSeconds: 60 },
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
    expect(loaded.config.log).toEqual({ level: 'info', file: undefined });
  });

  it('names the settings it does not use, and warns about nothing else', () => {
    expect(loaded.ignored.map((i) => i.name).sort()).toEqual(
      [
        'SQL_DB_DRIVER',
        'ldap_basedn',
        'ldap_binddn',
        'ldap_bindpw',
        'ldap_enable_tls',
        'ldap_uri',
        'mlmmjadmin_api_auth_token',
        'mlmmjadmin_api_endpoint',
        'pid_file',
        'run_as_user',
        'srs_forward_port',
        'srs_reverse_port',
        'srs_secrets',
      ].sort(),
    );
    expect(loaded.ignored.find((i) => i.name === 'run_as_user')?.reason).toMatch(/systemd User=/);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.file).toBe(fixture('iredmail-mysql-settings.py'));
    expect(loaded.assigned.has('plugins')).toBe(true);
    expect(loaded.assigned.has('GREYLISTING_MESSAGE')).toBe(false);
  });
});

describe('admin-customised settings.py (PostgreSQL)', async () => {
  const loaded = await loadSettings({ file: fixture('admin-pgsql-settings.py') });
  const { settings, config } = loaded;

  it('honours list and dict changes made the Python way', () => {
    expect(settings.PLUGIN_PRIORITIES).toEqual({ amavisd_wblist: 90 });
    expect(config.mynetworks).toEqual(['10.0.0.0/8', '192.168.0.0/16', '172.16.1.*', '2001:db8::/32']);
    expect(config.recipientDelimiters).toEqual(['+', '-']);
    expect(config.plugins.names).toEqual(['reject_null_sender', 'greylisting', 'throttle', 'amavisd_wblist']);
  });

  it('maps every plugin setting', () => {
    expect(config.greylisting).toEqual({
      message: 'Greylisted, please retry in 10 minutes',
      trainingMode: false,
      blockExpireMinutes: 10,
      authTripletExpireDays: 60,
      unauthTripletExpireDays: 2,
      bypassSpf: true,
      srsDomain: '',
      dnsTimeoutMs: 2500,
      spfMaxLookups: 20,
      passedClientCacheTtlMs: 60_000,
      writeBehindFirstAttempts: true,
    });
    expect(config.throttle).toEqual({
      bypassMynetworks: true,
      bypassLocalRecipient: true,
      bypassSameDomain: true,
      enableAllWildcardIp: true, // ENABLE_ALL_WILDCARD_IP = 1
    });
    expect(config.wblist).toEqual({
      bypassOutgoing: false,
      discardInsteadOfReject: false,
      enableAllWildcardIp: true,
    });
    expect(config.smtpSessions).toEqual({
      enabled: true,
      bypassDunno: false,
      bypassGreylisting: true,
      bypassWhitelist: false,
    });
    expect(config.cleanup).toEqual({ batchSize: 5000, smtpSessionsExpireDays: 30, senderscoreCacheDays: 2 });
    expect(config.log.level).toBe('debug');
  });

  it('maps PostgreSQL databases with numeric and string ports, raw-string passwords and TLS', () => {
    expect(config.storage).toMatchObject({
      backend: 'pgsql',
      vmail: { host: 'db.internal', port: 5432, password: 'p\\ss"word', ssl: false },
      amavisd: { port: 5432, ssl: true },
      iredapd: { port: 5432, password: 'secret2' },
      pool: { size: 20, maxOverflow: 5, recycleSeconds: 60 },
    });
  });
});

describe('parseSettings (python)', () => {
  it('requires backend and plugins, as iRedAPD does', () => {
    expect(errorOf(() => py("plugins = ['greylisting']"))).toMatch(
      /^settings\.py: backend is not set: iRedAPD requires it in settings\.py \(backend = 'mysql', 'pgsql' or 'sqlite'\)/,
    );
    expect(errorOf(() => py("backend = 'mysql'"))).toMatch(/^settings\.py: plugins is not set/);
  });

  it('rejects the LDAP backend with a clear reason', () => {
    expect(errorOf(() => py("backend = 'ldap'\nplugins = []"))).toMatch(
      /^settings\.py:1:1: backend must be 'mysql', 'pgsql' or 'sqlite': the LDAP backend is not supported by policyd/,
    );
  });

  it.each([
    ['listen_port = 70000', /settings\.py:3:1: listen_port must be a port number from 1 to 65535, got 70000/],
    ["listen_port = '77x'", /listen_port must be a port number from 1 to 65535, got "77x"/],
    ['listen_port = 0', /listen_port must be a port number/],
    ['listen_port = True', /listen_port must be a port number from 1 to 65535, got True/],
    [
      'listen_port = 7777,',
      /listen_port must be a port number from 1 to 65535, got \[7777\] \(a trailing comma makes a tuple\)$/,
    ],
    [
      "MYNETWORKS = ['10.0.0.1'],",
      /MYNETWORKS must be a list of strings, got \[\["10.0.0.1"\]\] \(a trailing comma makes a tuple\)$/,
    ],
    ["listen_address = ''", /listen_address must be a non-empty string without spaces/],
    ["vmail_db_port = 'mysql'", /vmail_db_port must be a port number from 1 to 65535 \(or '' to disable\)/],
    [
      "log_level = 'verbose'",
      /log_level must be 'debug', 'info', 'warning', 'error' or 'critical', got "verbose"/,
    ],
    ["GREYLISTING_BLOCK_EXPIRE = '15'", /GREYLISTING_BLOCK_EXPIRE must be an integer ≥ 0, got "15"/],
    ['GREYLISTING_BLOCK_EXPIRE = -1', /GREYLISTING_BLOCK_EXPIRE must be an integer ≥ 0, got -1/],
    ['GREYLISTING_BLOCK_EXPIRE = 1.5', /must be an integer ≥ 0, got 1.5/],
    ["GREYLISTING_BYPASS_SPF = 'no'", /GREYLISTING_BYPASS_SPF must be True or False, got "no"/],
    ['GREYLISTING_BYPASS_SPF = 2', /GREYLISTING_BYPASS_SPF must be True or False, got 2/],
    ['DNS_QUERY_TIMEOUT = 0', /DNS_QUERY_TIMEOUT must be a number of seconds above 0 and at most 300/],
    ["MYNETWORKS = '10.0.0.0/8'", /MYNETWORKS must be a list of strings, got "10.0.0.0\/8"/],
    ['MYNETWORKS = [10]', /MYNETWORKS must be a list of strings, got \[10\]/],
    ["RECIPIENT_DELIMITERS = ['']", /RECIPIENT_DELIMITERS must be a list of non-empty strings/],
    ["PLUGIN_PRIORITIES = {'greylisting', 100}", /set literals/],
    [
      "PLUGIN_PRIORITIES = {'greylisting': '100'}",
      /PLUGIN_PRIORITIES must be a dict of plugin names to numbers/,
    ],
    ['PLUGIN_PRIORITIES = None', /got None/],
    ['SPF_MAX_DNS_QUERIES = 0', /SPF_MAX_DNS_QUERIES must be an integer from 1 to 1000/],
    ['CLEANUP_QUERY_SIZE_LIMIT = 0', /CLEANUP_QUERY_SIZE_LIMIT must be an integer from 1 to 1000000/],
    ['SQL_CONNECTION_MAX_OVERFLOW = -2', /SQL_CONNECTION_MAX_OVERFLOW must be an integer from -1 to 10000/],
    ["srs_secrets = ['']", /srs_secrets must be a list of non-empty strings/],
  ])('validates %s', (line, message) => {
    expect(errorOf(() => py(`${REQUIRED}${line}\n`))).toMatch(message);
  });

  it('rejects a plugin listed twice', () => {
    expect(
      errorOf(() => py("backend = 'sqlite'\nplugins = ['throttle', 'greylisting', 'throttle']")),
    ).toMatch(
      /settings\.py:2:1: plugins must be a list of distinct plugin names \('throttle' is listed twice\)/,
    );
  });

  it('rejects a greylisting record lifetime shorter than the block time', () => {
    expect(
      errorOf(() =>
        py(`${REQUIRED}GREYLISTING_BLOCK_EXPIRE = 2000\nGREYLISTING_UNAUTH_TRIPLET_EXPIRE = 1\n`),
      ),
    ).toMatch(
      /settings\.py:4:1: GREYLISTING_UNAUTH_TRIPLET_EXPIRE \(1 days\) must be at least GREYLISTING_BLOCK_EXPIRE \(2000 minutes\)/,
    );
    expect(() =>
      py("backend = 'sqlite'\nplugins = ['throttle']\nGREYLISTING_UNAUTH_TRIPLET_EXPIRE = 0\n"),
    ).not.toThrow();
  });

  it('normalises values', () => {
    const { settings } = py(`${REQUIRED}log_level = 'WARN'\nvmail_db_port = 3306\nLOG_SMTP_SESSIONS = 0\n`);
    expect(settings.log_level).toBe('warning');
    expect(settings.vmail_db_port).toBe('3306');
    expect(settings.LOG_SMTP_SESSIONS).toBe(false);
  });

  it('warns about names it does not know, with a suggestion', () => {
    const { warnings, settings } = py(
      `${REQUIRED}GREYLISTING_BLOK_EXPIRE = 5\nmynetworks = ['10.0.0.1']\nsql_server = '127.0.0.1'\n`,
    );
    expect(warnings).toEqual([
      "settings.py:3: unknown setting GREYLISTING_BLOK_EXPIRE ignored (did you mean 'GREYLISTING_BLOCK_EXPIRE'?)",
      "settings.py:4: unknown setting mynetworks ignored (did you mean 'MYNETWORKS'?)",
      'settings.py:5: unknown setting sql_server ignored',
    ]);
    expect(settings.GREYLISTING_BLOCK_EXPIRE).toBe(15);
  });

  it('warns when SRS is configured, since there are no SRS listeners', () => {
    const { warnings } = py(`${REQUIRED}srs_domain = 'mx.example.com'\nsrs_secrets = ['s3cret']\n`);
    expect(warnings).toEqual([expect.stringMatching(/SRS is configured \(srs_domain 'mx\.example\.com'\)/)]);
  });

  it('resolves relative paths against the settings directory', () => {
    const loaded = parseSettings(`${REQUIRED}sqlite_db_path = 'db/apd.sqlite'\nlog_file = 'apd.log'\n`, {
      file: '/etc/policyd/settings.py',
      format: 'python',
      baseDir: '/etc/policyd',
    });
    expect(loaded.config.storage).toEqual({
      backend: 'sqlite',
      path: '/etc/policyd/db/apd.sqlite',
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
    expect(loaded.config.log.file).toBe('/etc/policyd/apd.log');
  });

  it('keeps the SQLite file in the data directory by default', () => {
    const loaded = parseSettings(REQUIRED, { file: 's.py', format: 'python', dataDir: '/srv/data' });
    expect(loaded.config.storage).toEqual({
      backend: 'sqlite',
      path: '/srv/data/policyd.sqlite',
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
  });
});

describe('parseSettings (json)', () => {
  it('accepts the same keys and values', () => {
    const loaded = json({
      backend: 'pgsql',
      plugins: ['greylisting', 'amavisd_wblist'],
      listen_port: '10031',
      PLUGIN_PRIORITIES: { amavisd_wblist: 90 },
      MYNETWORKS: ['10.0.0.0/8'],
      GREYLISTING_TRAINING_MODE: true,
    });
    expect(loaded.config.listen.port).toBe(10031);
    expect(loaded.config.greylisting.trainingMode).toBe(true);
    expect(loaded.config.storage.backend).toBe('pgsql');
    expect([...loaded.assigned].sort()).toEqual(
      [
        'GREYLISTING_TRAINING_MODE',
        'MYNETWORKS',
        'PLUGIN_PRIORITIES',
        'backend',
        'listen_port',
        'plugins',
      ].sort(),
    );
  });

  it('rejects unknown keys with a suggestion and the line', () => {
    expect(errorOf(() => json({ backend: 'sqlite', plugins: [], greylisting_message: 'x' }))).toMatch(
      /^policyd\.json:4:1: unknown setting "greylisting_message" \(did you mean 'GREYLISTING_MESSAGE'\?\)/,
    );
    expect(errorOf(() => json({ backend: 'sqlite', plugins: [], bogus: 1 }))).toMatch(
      /unknown setting "bogus"$/,
    );
  });

  it('validates types with the line of the key', () => {
    expect(errorOf(() => json({ backend: 'sqlite', plugins: [], listen_port: 0 }))).toMatch(
      /^policyd\.json:4:1: listen_port must be a port number from 1 to 65535, got 0/,
    );
    expect(errorOf(() => json({ backend: 'sqlite', plugins: [], LOG_SMTP_SESSIONS: null }))).toMatch(
      /LOG_SMTP_SESSIONS must be True or False, got null/,
    );
  });

  it('requires backend and plugins', () => {
    expect(errorOf(() => json({ plugins: [] }))).toMatch(/backend is not set/);
  });

  it('rejects what is not a JSON object', () => {
    expect(errorOf(() => parseSettings('{"backend": ', { file: 'p.json', format: 'json' }))).toMatch(
      /^p\.json: not valid JSON: /,
    );
    expect(errorOf(() => parseSettings('[1]', { file: 'p.json', format: 'json' }))).toMatch(
      /must hold one object of settings/,
    );
    expect(
      errorOf(() => parseSettings('x'.repeat(50), { file: 'p.json', format: 'json', maxLength: 10 })),
    ).toMatch(/larger than 10 characters/);
  });
});

describe('defaultSettings', () => {
  it('starts a working stand-alone daemon: SQLite in the data directory, the usual plugins, 127.0.0.1:7777', () => {
    const loaded = defaultSettings({ dataDir: 'var' });
    expect(loaded.file).toBeUndefined();
    expect(loaded.config.listen).toEqual({ host: '127.0.0.1', port: 7777 });
    expect(loaded.config.storage).toEqual({
      backend: 'sqlite',
      path: resolve('var/policyd.sqlite'),
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
    expect(loaded.config.plugins.names).toEqual([
      'reject_null_sender',
      'amavisd_wblist',
      'greylisting',
      'throttle',
    ]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.ignored).toEqual([]);
    expect(loaded.assigned.size).toBe(0);
  });

  it('uses ./data by default', () => {
    expect(defaultSettings().config.storage).toEqual({
      backend: 'sqlite',
      path: resolve('data/policyd.sqlite'),
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
  });

  it('has a valid default for every setting, and iRedAPD 6.1 defaults unchanged', () => {
    const parsed = parseSettings(JSON.stringify(DEFAULT_SETTINGS), { file: 'all.json', format: 'json' });
    expect(parsed.settings).toEqual(DEFAULT_SETTINGS);
    expect(Object.keys(DEFAULT_SETTINGS)).toHaveLength(SETTING_NAMES.length);
    expect(IREDAPD_DEFAULT_SETTINGS).toMatchObject({
      ENABLE_ALL_WILDCARD_IP: false,
      GREYLISTING_UNAUTH_TRIPLET_EXPIRE: 1,
      SQL_CONNECTION_POOL_RECYCLE: 60,
      DNS_QUERY_TIMEOUT: 3.0,
      NOTIFICATION_SMTP_PORT: 587,
    });
  });
});

describe('loadSettings (files)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'policyd-settings-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the stand-alone defaults without a file', async () => {
    const loaded = await loadSettings({ dataDir: join(dir, 'data') });
    expect(loaded.config.storage).toEqual({
      backend: 'sqlite',
      path: join(dir, 'data/policyd.sqlite'),
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
  });

  it('picks JSON by extension and resolves paths against the file', async () => {
    const file = join(dir, 'policyd.json');
    await writeFile(
      file,
      JSON.stringify({ backend: 'sqlite', plugins: ['throttle'], sqlite_db_path: 'x.db' }),
    );
    const loaded = await loadSettings({ file });
    expect(loaded.config.storage).toEqual({
      backend: 'sqlite',
      path: join(dir, 'x.db'),
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
  });

  it('reads a settings file with another name as Python, or as told', async () => {
    const file = join(dir, 'custom.conf');
    await writeFile(file, `${REQUIRED}listen_port = 10040\n`);
    expect((await loadSettings({ file })).config.listen.port).toBe(10040);
    expect(await asyncErrorOf(() => loadSettings({ file, format: 'json' }))).toMatch(/not valid JSON/);
  });

  it('reports a missing file, a huge file and invalid UTF-8', async () => {
    expect(await asyncErrorOf(() => loadSettings({ file: join(dir, 'none.py') }))).toMatch(
      /cannot read settings file .*none\.py: no such file/,
    );
    const big = join(dir, 'big.py');
    await writeFile(big, `${REQUIRED}${'# padding\n'.repeat(200_000)}`);
    expect(await asyncErrorOf(() => loadSettings({ file: big }))).toMatch(/is larger than 1048576 bytes/);
    expect(await asyncErrorOf(() => loadSettings({ file: big, maxBytes: 100 }))).toMatch(
      /larger than 100 bytes/,
    );
    const latin1 = join(dir, 'latin1.py');
    await writeFile(latin1, Buffer.from(`${REQUIRED}GREYLISTING_MESSAGE = 'caf\xe9'\n`, 'latin1'));
    expect(await asyncErrorOf(() => loadSettings({ file: latin1 }))).toMatch(/is not valid UTF-8/);
  });

  it('refuses a device that never ends instead of reading it forever', async () => {
    expect(await asyncErrorOf(() => loadSettings({ file: '/dev/zero', maxBytes: 4096 }))).toMatch(
      /larger than 4096 bytes/,
    );
  });

  it('reports a directory given as the settings file', async () => {
    expect(await asyncErrorOf(() => loadSettings({ file: dir }))).toMatch(/cannot read settings file/);
  });

  it('errors name the absolute file path and the line', async () => {
    const file = join(dir, 'bad.py');
    await writeFile(file, `${REQUIRED}\nMYNETWORKS = compute()\n`);
    expect(await asyncErrorOf(() => loadSettings({ file }))).toBe(
      `${file}:4:21: function calls are not supported in settings`,
    );
    expect(await readFile(file, 'utf8')).toContain('compute');
  });
});
