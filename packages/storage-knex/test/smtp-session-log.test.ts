import { type SmtpSessionRow, smtpSessionTimeText } from '@policyd/core';
import { describeSmtpSessionLogConformance, T0 } from '@policyd/core/conformance';
import { afterEach, expect, it } from 'vitest';
import type { Dialect } from '../src/dialect.ts';
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
});
