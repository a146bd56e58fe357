import { describe, expect, it } from 'vitest';
import { toDaemonConfig } from './daemon-config.ts';
import { DEFAULT_SETTINGS, type IredapdSettings } from './defaults.ts';
import { parseSettings } from './load-settings.ts';

const options = { dataDir: '/data', baseDir: '/etc/policyd' };
const map = (overrides: Partial<IredapdSettings>) =>
  toDaemonConfig({ ...DEFAULT_SETTINGS, ...overrides }, options);

describe('toDaemonConfig', () => {
  it('disables a database with an empty credential, as iRedAPD does, and says what that means', () => {
    const { config, warnings } = map({ backend: 'mysql', amavisd_db_password: '', vmail_db_port: '' });
    expect(config.storage).toMatchObject({ backend: 'mysql', amavisd: undefined, vmail: undefined });
    expect(config.storage.backend === 'mysql' && config.storage.iredapd).toMatchObject({
      database: 'iredapd',
    });
    expect(warnings).toEqual([
      'vmail database disabled because vmail_db_port is empty (as in iRedAPD): local and alias domain lookups find nothing',
      'amavisd database disabled because amavisd_db_password is empty (as in iRedAPD): amavisd_wblist answers DUNNO',
    ]);
  });

  it('ignores the SQL database settings with the SQLite backend', () => {
    const { config, warnings } = map({ backend: 'sqlite', amavisd_db_password: '' });
    expect(config.storage).toEqual({
      backend: 'sqlite',
      path: '/data/policyd.sqlite',
      domainCacheTtlMs: 30_000,
      spfWhitelistCacheTtlMs: 60_000,
    });
    expect(warnings).toEqual([]);
  });

  it('drops the MYNETWORKS entries iRedAPD drops, loudly', () => {
    const { config, warnings } = map({
      MYNETWORKS: ['192.168.1.0/24', '172.16.1.1/24', 'mail.example.com', '10.1.*.*', '2001:db8::1'],
    });
    expect(config.mynetworks).toEqual(['192.168.1.0/24', '10.1.*.*', '2001:db8::1']);
    expect(warnings).toEqual([
      "MYNETWORKS entry '172.16.1.1/24' skipped (iRedAPD ignores it too): host bits are set in the network (did you mean 172.16.1.0/24?)",
      expect.stringMatching(
        /^MYNETWORKS entry 'mail\.example\.com' skipped \(iRedAPD ignores it too\): not an IP address/,
      ),
    ]);
  });

  it('maps log levels to pino levels and the log file to an absolute path', () => {
    expect(map({ log_level: 'warning', log_file: 'apd.log' }).config.log).toEqual({
      level: 'warn',
      file: '/etc/policyd/apd.log',
    });
    expect(map({ log_level: 'critical' }).config.log.level).toBe('fatal');
    expect(map({ log_level: 'debug', log_file: '/dev/null' }).config.log).toEqual({
      level: 'debug',
      file: '/dev/null',
    });
  });

  it('maps DNS_QUERY_TIMEOUT to milliseconds for DNS and greylisting', () => {
    const { config } = map({ DNS_QUERY_TIMEOUT: 0.75 });
    expect(config.dns.timeoutMs).toBe(750);
    expect(config.greylisting.dnsTimeoutMs).toBe(750);
  });

  it('maps the notification settings', () => {
    const { config } = map({
      NOTIFICATION_RECIPIENTS: ['postmaster@example.com'],
      NOTIFICATION_SMTP_PASSWORD: 'x',
    });
    expect(config.notification).toEqual({
      recipients: ['postmaster@example.com'],
      senderName: 'No Reply',
      sendmail: '/usr/sbin/sendmail',
      smtp: {
        host: 'localhost',
        port: 587,
        starttls: true,
        user: 'no-reply@localhost.localdomain',
        password: 'x',
        debugLevel: 0,
      },
    });
  });

  it('warns about SRS only when both a domain and a secret are set (iRedAPD starts SRS only then)', () => {
    expect(map({ srs_domain: 'mx.example.com' }).warnings).toEqual([]);
    expect(map({ srs_secrets: ['x'] }).warnings).toEqual([]);
    expect(map({ srs_domain: 'mx.example.com', srs_secrets: ['x'] }).warnings[0]).toMatch(
      /remove tcp:…:7778 and tcp:…:7779 from Postfix's sender_canonical_maps/,
    );
  });

  it('maps the cache settings to milliseconds (30 s for domains, 60 s for passed clients by default), 0 = off', () => {
    const defaults = map({}).config;
    expect(defaults.storage.domainCacheTtlMs).toBe(30_000);
    expect(defaults.greylisting.passedClientCacheTtlMs).toBe(60_000);
    const mysql = map({
      backend: 'mysql',
      domain_cache_seconds: 5,
      greylisting_passed_client_cache_seconds: 120,
    }).config;
    expect(mysql.storage.domainCacheTtlMs).toBe(5_000);
    expect(mysql.greylisting.passedClientCacheTtlMs).toBe(120_000);
    const off = map({ domain_cache_seconds: 0, greylisting_passed_client_cache_seconds: 0 }).config;
    expect(off.storage.domainCacheTtlMs).toBe(0);
    expect(off.greylisting.passedClientCacheTtlMs).toBe(0);
  });

  it('keeps the generated whitelist networks for greylisting_spf_whitelist_cache_seconds (60 by default), 0 = off', () => {
    expect(map({}).config.storage.spfWhitelistCacheTtlMs).toBe(60_000);
    expect(
      map({ backend: 'mysql', greylisting_spf_whitelist_cache_seconds: 5 }).config.storage
        .spfWhitelistCacheTtlMs,
    ).toBe(5_000);
    expect(map({ greylisting_spf_whitelist_cache_seconds: 0 }).config.storage.spfWhitelistCacheTtlMs).toBe(0);
  });

  it('writes greylisting first attempts behind the answer unless greylisting_write_behind = False', () => {
    expect(map({}).config.greylisting.writeBehindFirstAttempts).toBe(true);
    expect(map({ greylisting_write_behind: false }).config.greylisting.writeBehindFirstAttempts).toBe(false);
  });

  it.each([
    ["greylisting_write_behind = 'no'", /^settings\.py:2:1: greylisting_write_behind must be/],
    [
      'greylisting_spf_whitelist_cache_seconds = -5',
      /greylisting_spf_whitelist_cache_seconds must be an integer ≥ 0/,
    ],
    ['domain_cache_seconds = -1', /^settings\.py:2:1: domain_cache_seconds must be an integer ≥ 0, got -1/],
    [
      "greylisting_passed_client_cache_seconds = '60'",
      /^settings\.py:2:1: greylisting_passed_client_cache_seconds must be an integer ≥ 0, got "60"/,
    ],
    ['greylisting_passed_client_cache_seconds = 1.5', /must be an integer ≥ 0, got 1\.5/],
  ])('rejects %s at start-up, naming the file and line', (line, message) => {
    const run = () =>
      parseSettings(`backend = 'sqlite'\n${line}\nplugins = []\n`, { file: 'settings.py', format: 'python' });
    expect(run).toThrow(message);
  });

  it('returns frozen configuration', () => {
    const { config } = map({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.greylisting)).toBe(true);
  });
});
