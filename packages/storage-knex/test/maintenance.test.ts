import { afterEach, expect, it } from 'vitest';
import { createKnexMaintenance, MAINTAINED_TABLES } from '../src/maintenance.ts';
import { intOf, textOf } from '../src/sql.ts';
import { SENDERSCORE_CACHE, SMTP_SESSIONS } from '../src/tables.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const DAY = 86_400_000;

describeEachBackend('storage-knex maintenance', (backend) => {
  let storage: TestStorage | undefined;
  afterEach(async () => {
    await storage?.destroy();
    storage = undefined;
  });

  it('counts the rows of every maintained table', async () => {
    storage = await backend.createStorage();
    const maintenance = createKnexMaintenance(storage.databases.iredapd);
    for (const table of MAINTAINED_TABLES) expect(await maintenance.countRows(table)).toBe(0);
    const { knex } = storage.databases.iredapd;
    await knex(SMTP_SESSIONS.name).insert(
      [1, 2, 3].map((n) => ({
        [SMTP_SESSIONS.col.time]: '2026-01-01 00:00:00',
        [SMTP_SESSIONS.col.timeNum]: n,
      })),
    );
    expect(await maintenance.countRows('smtp_sessions')).toBe(3);
  });

  it('refuses a table it does not maintain, before any query', async () => {
    storage = await backend.createStorage();
    const maintenance = createKnexMaintenance(storage.databases.iredapd);
    await expect(maintenance.countRows('throttle' as never)).rejects.toMatchObject({
      code: 'POLICYD_ERR_INVALID_OPTION',
    });
  });

  it('deletes senderscore_cache rows older than the cut-off in batches, keeping newer ones', async () => {
    storage = await backend.createStorage();
    const maintenance = createKnexMaintenance(storage.databases.iredapd);
    const { knex } = storage.databases.iredapd;
    const nowSeconds = NOW / 1000;
    const cutoff = nowSeconds - 2 * 86_400;
    const rows = [
      ...Array.from({ length: 5 }, (_, i) => ({ ip: `192.0.2.${i + 1}`, time: cutoff - 1 - i })),
      { ip: '198.51.100.1', time: cutoff },
      { ip: '198.51.100.2', time: nowSeconds },
    ];
    await knex(SENDERSCORE_CACHE.name).insert(
      rows.map((r) => ({
        [SENDERSCORE_CACHE.col.clientAddress]: r.ip,
        [SENDERSCORE_CACHE.col.score]: 50,
        [SENDERSCORE_CACHE.col.time]: r.time,
      })),
    );
    const first = await maintenance.cleanupSenderscoreCache({
      now: NOW,
      olderThanMs: 2 * DAY,
      batchSize: 2,
      maxBatches: 1,
    });
    expect(first).toEqual({ deleted: 2, batches: 1, more: true });
    const rest = await maintenance.cleanupSenderscoreCache({ now: NOW, olderThanMs: 2 * DAY, batchSize: 2 });
    expect(rest).toEqual({ deleted: 3, batches: 2, more: false });
    const left = (await knex(SENDERSCORE_CACHE.name)
      .select(SENDERSCORE_CACHE.col.clientAddress, SENDERSCORE_CACHE.col.time)
      .orderBy(SENDERSCORE_CACHE.col.clientAddress)) as Record<string, unknown>[];
    expect(left.map((r) => [textOf(r[SENDERSCORE_CACHE.col.clientAddress]), intOf(r.time)])).toEqual([
      ['198.51.100.1', cutoff],
      ['198.51.100.2', nowSeconds],
    ]);
    expect(await maintenance.countRows('senderscore_cache')).toBe(2);
  });

  it('rejects bad cleanup options before any query', async () => {
    storage = await backend.createStorage();
    const maintenance = createKnexMaintenance(storage.databases.iredapd);
    await expect(maintenance.cleanupSenderscoreCache({ now: NOW, olderThanMs: -1 })).rejects.toMatchObject({
      code: 'POLICYD_ERR_INVALID_OPTION',
    });
    await expect(
      maintenance.cleanupSenderscoreCache({ now: NOW, olderThanMs: DAY, batchSize: 0 }),
    ).rejects.toMatchObject({ code: 'POLICYD_ERR_INVALID_OPTION' });
  });
});
