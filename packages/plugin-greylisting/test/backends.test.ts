/**
 * The backend-independent greylisting suites on the SQL stores of @policyd/storage-knex: SQLite always,
 * MariaDB and PostgreSQL when reachable (required under CI=true).
 */

import { describeEachBackend } from '../../storage-knex/test/backends.ts';
import { seedGreylist } from '../../storage-knex/test/greylist-seed.ts';
import type { StoresFactory } from './harness.ts';
import { describeGreylistingPlugin } from './plugin-suite.ts';
import { describeGreylistingAdmin } from './refresh-suite.ts';
import { describeWriteBehind } from './write-behind-suite.ts';

describeEachBackend('greylisting', (backend) => {
  const factory: StoresFactory = async () => {
    const storage = await backend.createStorage();
    return {
      greylist: storage.greylist,
      domains: storage.domains,
      seedGreylist: (seed) => seedGreylist(storage.databases.iredapd, seed),
      seedDomains: (seed) => storage.seedDomains(seed),
      close: () => storage.destroy(),
    };
  };
  describeGreylistingPlugin(backend.name, factory);
  describeGreylistingAdmin(backend.name, factory);
  describeWriteBehind(backend.name, factory);
});
