/**
 * The shared suites on the SQL stores of `@policyd/storage-knex`: SQLite always, MariaDB and PostgreSQL when
 * their servers answer (required under CI). One fresh set of databases per block, emptied between tests.
 */

import { describeEachBackend } from '../../storage-knex/test/backends.ts';
import { describeThrottlePlugin } from './suite.ts';

describeEachBackend('plugin-throttle', (backend) => {
  describeThrottlePlugin(backend.name, async () => {
    const storage = await backend.createStorage();
    return {
      throttle: storage.throttle,
      domains: storage.domains,
      seedDomains: (rows) => storage.seedDomains(rows),
      close: () => storage.destroy(),
    };
  });
});
