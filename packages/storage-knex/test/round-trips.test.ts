import type { Knex } from 'knex';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend, type TestStorage } from './backends.ts';

/** Count the statements `knex` sends while `fn` runs. */
async function countQueries(knexes: readonly Knex[], fn: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const listener = () => {
    count++;
  };
  const distinct = [...new Set(knexes)];
  for (const knex of distinct) knex.on('query', listener);
  try {
    await fn();
  } finally {
    for (const knex of distinct) knex.off('query', listener);
  }
  return count;
}

describeEachBackend('round trips', (backend) => {
  let storage: TestStorage | undefined;
  afterEach(async () => {
    await storage?.destroy();
    storage = undefined;
  });

  it('answers lookupDomains with one statement, whatever the number of domains', async () => {
    storage = await backend.createStorage();
    await storage.seedDomains({
      domains: [{ domain: 'example.com' }],
      aliasDomains: [{ aliasDomain: 'alias.test', targetDomain: 'example.com' }],
    });
    const { vmail } = storage.databases;
    const domains = ['example.com', 'alias.test', 'unknown.test', 'mail.example.net', 'login.example.org'];
    expect(await countQueries([vmail.knex], () => storage!.domains.lookupDomains(domains))).toBe(1);
  });

  it('answers a wblist lookup in both directions, networks included, with one statement', async () => {
    storage = await backend.createStorage();
    await storage.wblist.add({
      account: '@.',
      direction: 'inbound',
      list: 'blacklist',
      addresses: ['192.0.2.0/24'],
    });
    await storage.wblist.add({
      account: '192.0.2.0/24',
      direction: 'outbound',
      list: 'whitelist',
      addresses: ['@.'],
    });
    const { amavisd } = storage.databases;
    let result: Awaited<ReturnType<TestStorage['wblist']['lookup']>> | undefined;
    const statements = await countQueries([amavisd.knex], async () => {
      result = await storage!.wblist.lookup({
        inbound: {
          accounts: ['user@example.com', '@example.com', '@.'],
          senders: ['x@example.net', '@.'],
          clientAddress: '192.0.2.7',
        },
        outbound: {
          accounts: ['user@example.com', '@.'],
          recipients: ['x@example.net', '@.'],
          clientAddress: '192.0.2.7',
        },
      });
    });
    expect(statements).toBe(1);
    expect(result?.inbound.map((m) => `${m.account} ${m.address} ${m.byNetwork}`)).toEqual([
      '@. 192.0.2.0/24 true',
    ]);
    expect(result?.outbound.map((m) => `${m.account} ${m.address} ${m.byNetwork}`)).toEqual([
      '192.0.2.0/24 @. true',
    ]);
  });

  it("answers a greylisting context with the triplet's tracking row in one statement", async () => {
    storage = await backend.createStorage();
    const { greylist } = storage;
    const triplet = {
      sender: 'sender@example.net',
      senderDomain: 'example.net',
      recipient: 'user@example.com',
      recipientDomain: 'example.com',
      clientKey: '192.0.2.10',
    };
    const now = Date.UTC(2026, 0, 1);
    await greylist.setSetting({ account: '@.', sender: '@.', active: true });
    await greylist.recordAttempt(triplet, {
      now,
      blockExpiresAt: now + 900_000,
      unauthExpiresAt: now + 86_400_000,
      authExpiresAt: now + 30 * 86_400_000,
    });
    const { iredapd } = storage.databases;
    let context: Awaited<ReturnType<TestStorage['greylist']['loadContext']>> | undefined;
    const statements = await countQueries([iredapd.knex], async () => {
      context = await greylist.loadContext({
        recipients: ['user@example.com', '@example.com', '@.'],
        senders: ['sender@example.net', '@example.net', '@.', '192.0.2.10'],
        clientAddress: '192.0.2.10',
        clientKey: '192.0.2.10',
        now,
        triplet,
      });
    });
    expect(statements).toBe(1);
    expect(context?.settings).toHaveLength(1);
    expect(context?.triplet).toMatchObject({ ...triplet, firstSeenAt: now, blockedCount: 1, passed: false });
  });

  it('records 300 first attempts with one statement', async () => {
    storage = await backend.createStorage();
    const now = Date.UTC(2026, 0, 1);
    const attempts = Array.from({ length: 300 }, (_, i) => ({
      triplet: {
        sender: `s${i}@example.net`,
        senderDomain: 'example.net',
        recipient: 'user@example.com',
        recipientDomain: 'example.com',
        clientKey: `198.51.100.${i % 10}`,
      },
      times: {
        now,
        blockExpiresAt: now + 900_000,
        unauthExpiresAt: now + 86_400_000,
        authExpiresAt: now + 30 * 86_400_000,
      },
    }));
    const { iredapd } = storage.databases;
    let inserted = 0;
    const statements = await countQueries([iredapd.knex], async () => {
      inserted = (await storage!.greylist.recordFirstAttempts(attempts)).inserted;
    });
    expect(statements).toBe(1);
    expect(inserted).toBe(300);
  });

  it('serves repeated lookupDomains from the optional cache', async () => {
    storage = await backend.createStorage({ domainCacheTtlMs: 60_000 });
    await storage.seedDomains({ domains: [{ domain: 'example.com' }] });
    const { vmail } = storage.databases;
    expect(await countQueries([vmail.knex], () => storage!.domains.lookupDomains(['example.com']))).toBe(1);
    expect(
      await countQueries([vmail.knex], async () => {
        expect((await storage!.domains.lookupDomains(['EXAMPLE.com'])).get('example.com')?.local).toBe(true);
      }),
    ).toBe(0);
  });
});
