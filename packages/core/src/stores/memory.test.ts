import { describeDomainStoreConformance } from './conformance/domain-store.ts';
import { describeGreylistStoreConformance } from './conformance/greylist-store.ts';
import { describeThrottleStoreConformance } from './conformance/throttle-store.ts';
import { describeWblistStoreConformance } from './conformance/wblist-store.ts';
import { createMemoryDomainStore } from './memory-domain-store.ts';
import { createMemoryGreylistStore } from './memory-greylist-store.ts';
import { createMemoryThrottleStore } from './memory-throttle-store.ts';
import { createMemoryWblistStore } from './memory-wblist-store.ts';

const close = async (): Promise<void> => {};

describeDomainStoreConformance('memory', async () => {
  const store = createMemoryDomainStore();
  return { store, seed: async (data) => store.seed(data), close };
});

describeWblistStoreConformance('memory', async () => {
  const store = createMemoryWblistStore();
  return { store, seed: async (data) => store.seed(data), close };
});

describeGreylistStoreConformance('memory', async () => {
  const store = createMemoryGreylistStore();
  return { store, seed: async (data) => store.seed(data), close };
});

describeThrottleStoreConformance('memory', async () => ({ store: createMemoryThrottleStore(), close }));
