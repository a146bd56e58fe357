import type { GreylistStore } from '@policyd/core';
import {
  describeGreylistStoreConformance,
  describeThrottleStoreConformance,
} from '@policyd/core/conformance';
import { createKnexGreylistStore } from '../src/greylist-store.ts';
import { describeEachBackend } from './backends.ts';
import { seedGreylist } from './greylist-seed.ts';

describeEachBackend('storage-knex iredapd conformance', (backend) => {
  describeGreylistStoreConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return {
      store: storage.greylist,
      seed: (data) => seedGreylist(storage.databases.iredapd, data),
      close: () => storage.destroy(),
    };
  });
  // The generated whitelist networks held in memory (spfWhitelistCacheTtlMs) must match as the table does. A
  // seed writes behind the store's back, so it starts a new store, as the TTL's expiry would.
  describeGreylistStoreConformance(`${backend.name}, generated whitelist in memory`, async () => {
    const storage = await backend.createStorage();
    const open = () => createKnexGreylistStore(storage.databases.iredapd, { spfWhitelistCacheTtlMs: 60_000 });
    let current = open();
    const store = new Proxy({} as GreylistStore, {
      get: (_, method: keyof GreylistStore) => current[method],
    });
    return {
      store,
      seed: async (data) => {
        await seedGreylist(storage.databases.iredapd, data);
        current = open();
      },
      close: () => storage.destroy(),
    };
  });
  describeThrottleStoreConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return { store: storage.throttle, close: () => storage.destroy() };
  });
});
