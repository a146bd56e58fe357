import { type SmtpSessionRow, smtpSessionTimeText } from '@policyd/core';
import { describeSmtpSessionLogConformance, T0 } from '@policyd/core/conformance';
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dialect } from '../src/dialect.ts';
import {
  createKnexSmtpSessionLog,
  SMTP_SESSION_ROWS_PER_INSERT,
  SMTP_SESSION_TEXT_PER_INSERT,
  smtpSessionInsertChunks,
} from '../src/smtp-session-store.ts';
import type { SqlDatabase } from '../src/sql.ts';
import { intOf, textOf } from '../src/sql.ts';
import { SMTP_SESSIONS } from '../src/tables.ts';
import { describeEachBackend, type TestStorage } from './backends.ts';

const S = SMTP_SESSIONS.col;

// The `time` column as text, whatever type the driver maps TIMESTAMP to.
function timeText(dialect: Dialect): string {
  if (dialect === 'mysql') return `DATE_FORMAT(${S.time}, '%Y-%m-%d %H:%i:%s')`;
  if (dialect === 'pg') return `to_char(${S.time}, 'YYYY-MM-DD HH24:MI:SS')`;
  return S.time;
}

async function readRows(db: SqlDatabase): Promise<(SmtpSessionRow & { readonly timeText: string })[]> {
  const rows = (await db
    .knex(SMTP_SESSIONS.name)
    .select('*', db.knex.raw(`${timeText(db.dialect)} as time_text`))
    .orderBy(S.id)) as Record<string, unknown>[];
  return rows.map((r) => ({
    time: intOf(r[S.timeNum]) * 1000,
    timeText: textOf(r.time_text),
    action: textOf(r[S.action]),
    reason: textOf(r[S.reason]),
    instance: textOf(r[S.instance]),
    clientAddress: textOf(r[S.clientAddress]),
    clientName: textOf(r[S.clientName]),
    reverseClientName: textOf(r[S.reverseClientName]),
    heloName: textOf(r[S.heloName]),
    sender: textOf(r[S.sender]),
    senderDomain: textOf(r[S.senderDomain]),
    saslUsername: textOf(r[S.saslUsername]),
    saslDomain: textOf(r[S.saslDomain]),
    recipient: textOf(r[S.recipient]),
    recipientDomain: textOf(r[S.recipientDomain]),
    encryptionProtocol: textOf(r[S.encryptionProtocol]),
    encryptionCipher: textOf(r[S.encryptionCipher]),
    serverAddress: textOf(r[S.serverAddress]),
    serverPort: textOf(r[S.serverPort]),
  }));
}

function session(instance: string, overrides: Partial<SmtpSessionRow> = {}): SmtpSessionRow {
  return {
    time: T0,
    action: 'DUNNO',
    reason: '',
    instance,
    clientAddress: '192.0.2.10',
    clientName: 'mail.example.net',
    reverseClientName: 'mail.example.net',
    heloName: 'mail.example.net',
    sender: 'a@example.net',
    senderDomain: 'example.net',
    saslUsername: '',
    saslDomain: '',
    recipient: 'b@example.com',
    recipientDomain: 'example.com',
    encryptionProtocol: 'TLSv1.3',
    encryptionCipher: 'TLS_AES_256_GCM_SHA384',
    serverAddress: '192.0.2.1',
    serverPort: '25',
    ...overrides,
  };
}

const many = (n: number, prefix = 'r'): SmtpSessionRow[] =>
  Array.from({ length: n }, (_, i) => session(`${prefix}${i}`, { time: T0 + i * 1000 }));

/** The statements `knex` sends while `fn` runs (lower-cased SQL). */
async function statements(knex: Knex, fn: () => Promise<unknown>): Promise<string[]> {
  const sql: string[] = [];
  const listener = (query: { sql: string }) => sql.push(query.sql.toLowerCase());
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.off('query', listener);
  }
  return sql;
}

// A database whose transactions fail their `failAt`-th raw statement (1-based), as a lost connection would.
function failingInTransaction(db: SqlDatabase, failAt: number): SqlDatabase {
  const knex = new Proxy(db.knex, {
    get(target, key, receiver) {
      if (key !== 'transaction') return Reflect.get(target, key, receiver);
      return (fn: (trx: Knex.Transaction) => Promise<unknown>, config?: Knex.TransactionConfig) =>
        target.transaction((trx) => {
          let raws = 0;
          const wrapped = new Proxy(trx, {
            get(t, k) {
              if (k !== 'raw') return Reflect.get(t, k, t);
              return (...args: Parameters<Knex['raw']>) => {
                if (++raws === failAt) return Promise.reject(new Error('Connection lost'));
                return t.raw(...args);
              };
            },
          });
          return fn(wrapped);
        }, config);
    },
  });
  return { knex, dialect: db.dialect };
}

describe('smtpSessionInsertChunks', () => {
  it('cuts at 500 rows, keeping the order', () => {
    const chunks = smtpSessionInsertChunks(many(1_201));
    expect(chunks.map((c) => c.length)).toEqual([500, 500, 201]);
    expect(chunks.flat().map((r) => r.instance)).toEqual(many(1_201).map((r) => r.instance));
    expect(SMTP_SESSION_ROWS_PER_INSERT * 19).toBeLessThan(32_766); // SQLite's limit on bound values
    expect(smtpSessionInsertChunks([])).toEqual([]);
  });

  it('cuts earlier when the rows carry much text, so a statement stays far below max_allowed_packet', () => {
    const wide = (i: number) =>
      session(`w${i}`, { clientName: 'x'.repeat(255), heloName: 'x'.repeat(255), sender: 'x'.repeat(255) });
    const chunks = smtpSessionInsertChunks(Array.from({ length: 500 }, (_, i) => wide(i)));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      const text = chunk.reduce(
        (sum, r) => sum + Object.values(r).reduce((n: number, v) => n + String(v).length, 0),
        0,
      );
      expect(text).toBeLessThanOrEqual(SMTP_SESSION_TEXT_PER_INSERT);
    }
    expect(chunks.flat()).toHaveLength(500);
  });
});

describeEachBackend('storage-knex smtp_sessions', (backend) => {
  describeSmtpSessionLogConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return {
      store: storage.smtpSessions,
      rows: async () => (await readRows(storage.databases.iredapd)).map(({ timeText: _, ...row }) => row),
      close: () => storage.destroy(),
    };
  });

  let storage: TestStorage | undefined;
  afterEach(async () => {
    await storage?.destroy();
    storage = undefined;
  });

  it(`${backend.name}: writes time as UTC text and time_num as unix seconds, as iRedAPD`, async () => {
    storage = await backend.createStorage();
    const time = T0 + 3_723_456; // 01:02:03.456
    await storage.smtpSessions.record({
      time,
      action: '451',
      reason: '4.7.1 Intentional policy rejection, please try again later',
      instance: 'abc.1',
      clientAddress: '192.0.2.10',
      clientName: 'unknown',
      reverseClientName: '[mail.example.net]',
      heloName: 'helo.example.net',
      sender: 'a@example.net',
      senderDomain: 'example.net',
      saslUsername: '',
      saslDomain: '',
      recipient: 'b@example.com',
      recipientDomain: 'example.com',
      encryptionProtocol: '',
      encryptionCipher: '',
      serverAddress: '',
      serverPort: '',
    });
    const [row] = await readRows(storage.databases.iredapd);
    expect(row?.timeText).toBe('2026-01-01 01:02:03');
    expect(row?.timeText).toBe(smtpSessionTimeText(time));
    expect(row?.time).toBe(T0 + 3_723_000);
    expect(row).toMatchObject({ action: '451', reverseClientName: '[mail.example.net]' });
  });

  it(`${backend.name}: writes a batch of several chunks whole and in order`, async () => {
    storage = await backend.createStorage();
    const rows = many(1_201);
    const sql = await statements(storage.databases.iredapd.knex, () =>
      storage!.smtpSessions.recordMany(rows),
    );
    expect(sql.filter((s) => s.startsWith('insert'))).toHaveLength(3);
    const stored = await readRows(storage.databases.iredapd);
    expect(stored).toHaveLength(1_201);
    expect(stored.map(({ timeText: _, ...r }) => r)).toEqual(rows);
    expect(stored[1_200]?.timeText).toBe(smtpSessionTimeText(T0 + 1_200_000));
  });

  it(`${backend.name}: one statement per chunk, none for an empty batch`, async () => {
    storage = await backend.createStorage();
    const { knex } = storage.databases.iredapd;
    expect(await statements(knex, () => storage!.smtpSessions.recordMany([]))).toEqual([]);
    expect(await statements(knex, () => storage!.smtpSessions.recordMany(many(500)))).toHaveLength(1);
    expect(await statements(knex, () => storage!.smtpSessions.record(session('one')))).toHaveLength(1);
    expect(await readRows(storage.databases.iredapd)).toHaveLength(501);
  });

  it(`${backend.name}: a batch whose last chunk fails leaves none of its rows`, async () => {
    storage = await backend.createStorage();
    const db = storage.databases.iredapd;
    const log = createKnexSmtpSessionLog(failingInTransaction(db, 3));
    await expect(log.recordMany(many(1_201))).rejects.toMatchObject({
      code: 'POLICYD_ERR_STORE',
      message: expect.stringContaining('smtpSessions.recordMany failed: Connection lost'),
    });
    expect(await readRows(db)).toEqual([]);
  });
});
