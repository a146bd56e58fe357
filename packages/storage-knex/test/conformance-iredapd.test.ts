import {
  describeGreylistStoreConformance,
  describeThrottleStoreConformance,
} from '@policyd/core/conformance';
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
  describeThrottleStoreConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return { store: storage.throttle, close: () => storage.destroy() };
  });
});
