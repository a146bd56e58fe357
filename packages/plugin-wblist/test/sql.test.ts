/**
 * The shared suites on `@policyd/storage-knex` (SQLite always; MariaDB and PostgreSQL when reachable, and
 * always under CI), plus the round-trip budget counted in SQL statements.
 */

import { createPolicy, toAction } from '@policyd/core';
import { evaluateRequest } from '@policyd/core/testing';
import type { Knex } from 'knex';
import { afterEach, expect, it } from 'vitest';
import { describeEachBackend, type TestStorage } from '../../storage-knex/test/backends.ts';
import { createWblistAdmin, wblist } from '../src/index.ts';
import { describeWblistAdmin } from './admin-suite.ts';
import { describeWblistDecisions } from './decision-suite.ts';
import { TEST_HOSTNAME, type WblistBackendFactory, WORLD_DOMAINS } from './harness.ts';

describeEachBackend('plugin-wblist', (backend) => {
  const factory: WblistBackendFactory = async () => {
    const storage = await backend.createStorage();
    return {
      wblist: storage.wblist,
      domains: storage.domains,
      seedWblist: (rows) => storage.seedWblist(rows),
      seedDomains: (rows) => storage.seedDomains(rows),
      close: () => storage.destroy(),
    };
  };
  describeWblistDecisions(backend.name, factory);
  describeWblistAdmin(backend.name, factory);

  let storage: TestStorage | undefined;
  afterEach(async () => {
    await storage?.destroy();
    storage = undefined;
  });

  /** Count the statements knex sends while `fn` runs. */
  async function statements(knexes: readonly Knex[], fn: () => Promise<unknown>): Promise<number> {
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

  it.each([
    [
      'an unauthenticated sender from an alias domain',
      { sender: 'friend@alias.test', recipient: 'user@alias.test' },
      'OK',
    ],
    [
      'an authenticated sender to a local recipient (both stages)',
      { sasl_username: 'john@alias.test', sender: 'john@alias.test', recipient: 'user@other.test' },
      'REJECT Blacklisted',
    ],
  ])('decides %s with two SQL statements', async (_name, request, expected) => {
    storage = await backend.createStorage();
    await storage.seedDomains(WORLD_DOMAINS);
    const admin = createWblistAdmin(storage.wblist);
    await admin.add({ account: 'user@local.test', list: 'whitelist', addresses: ['192.0.2.0/24'] });
    await admin.add({ account: 'user@other.test', list: 'blacklist', addresses: ['john@local.test'] });
    await admin.add({
      account: 'john@local.test',
      direction: 'outbound',
      list: 'whitelist',
      addresses: ['@other.test'],
    });
    const policy = await createPolicy({
      plugins: [wblist({ store: storage.wblist, domains: storage.domains, hostname: TEST_HOSTNAME })],
    });
    const { amavisd, vmail } = storage.databases;
    let action = '';
    const count = await statements([amavisd.knex, vmail.knex], async () => {
      const { decision } = await evaluateRequest(policy, { client_address: '192.0.2.10', ...request });
      action = toAction(decision);
    });
    expect(action).toBe(expected);
    expect(count).toBe(2);
    await policy.close();
  });
});
