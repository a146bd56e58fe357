import { describe, expect, it } from 'vitest';
import { toDaemonConfig } from './settings/daemon-config.ts';
import { DEFAULT_SETTINGS, type IredapdSettings } from './settings/defaults.ts';
import { storagePlan } from './storage-plan.ts';

const backendOf = (overrides: Partial<IredapdSettings>) =>
  toDaemonConfig({ ...DEFAULT_SETTINGS, ...overrides }, { dataDir: '/data', baseDir: '/' }).config.storage;

describe('storagePlan', () => {
  it('opens SQLite from one file', () => {
    expect(storagePlan(backendOf({}))).toEqual({
      open: { client: 'sqlite', filename: '/data/policyd.sqlite' },
      disabled: new Set(),
    });
  });

  it('opens iRedAPD three databases on MySQL, with the pool iRedAPD would use', () => {
    const plan = storagePlan(
      backendOf({ backend: 'mysql', iredapd_db_password: 'pw', iredapd_db_use_ssl: true }),
    );
    expect(plan.disabled.size).toBe(0);
    expect(plan.open).toEqual({
      client: 'mysql',
      iredapd: {
        host: '127.0.0.1',
        port: 3306,
        user: 'iredapd',
        password: 'pw',
        database: 'iredapd',
        ssl: { rejectUnauthorized: false },
      },
      amavisd: { host: '127.0.0.1', port: 3306, user: 'amavisd', password: 'password', database: 'amavisd' },
      vmail: { host: '127.0.0.1', port: 3306, user: 'vmail', password: 'password', database: 'vmail' },
      pool: { max: 20, idleTimeoutMs: 60_000 },
    });
  });

  it('uses pg for pgsql and maps unlimited pools to a bound', () => {
    const plan = storagePlan(
      backendOf({ backend: 'pgsql', SQL_CONNECTION_MAX_OVERFLOW: -1, SQL_CONNECTION_POOL_RECYCLE: -1 }),
    );
    expect(plan.open).toMatchObject({ client: 'pg', pool: { max: 100, idleTimeoutMs: 30_000 } });
    expect(storagePlan(backendOf({ backend: 'pgsql', SQL_CONNECTION_POOL_SIZE: 0 })).open).toMatchObject({
      pool: { max: 100 },
    });
  });

  it('marks disabled databases and opens the others', () => {
    const plan = storagePlan(backendOf({ backend: 'mysql', iredapd_db_user: '', vmail_db_name: '' }));
    expect(plan.disabled).toEqual(new Set(['iredapd', 'vmail']));
    expect(plan.open).toMatchObject({
      client: 'mysql',
      iredapd: { database: 'amavisd' },
      amavisd: { database: 'amavisd' },
    });
    expect(plan.open).not.toHaveProperty('vmail');
  });

  it('opens nothing when every database is disabled', () => {
    const plan = storagePlan(
      backendOf({
        backend: 'mysql',
        iredapd_db_password: '',
        amavisd_db_password: '',
        vmail_db_password: '',
      }),
    );
    expect(plan).toEqual({ open: undefined, disabled: new Set(['iredapd', 'amavisd', 'vmail']) });
  });
});
