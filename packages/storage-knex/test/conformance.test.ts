import { describeDomainStoreConformance, describeWblistStoreConformance } from '@policyd/core/conformance';
import { describeEachBackend } from './backends.ts';

describeEachBackend('storage-knex conformance', (backend) => {
  describeDomainStoreConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return {
      store: storage.domains,
      seed: (data) => storage.seedDomains(data),
      close: () => storage.destroy(),
    };
  });
  describeWblistStoreConformance(backend.name, async () => {
    const storage = await backend.createStorage();
    return {
      store: storage.wblist,
      seed: (data) => storage.seedWblist(data),
      close: () => storage.destroy(),
    };
  });
});
