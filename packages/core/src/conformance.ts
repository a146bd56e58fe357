/**
 * `@policyd/core/conformance`: the test suites every store implementation must pass. Each function registers
 * Vitest tests (Vitest is an optional peer dependency, needed only here) for a harness factory that creates a
 * fresh store, seeds it and closes it.
 *
 * @example
 * ```ts
 * import { createMemoryThrottleStore } from '@policyd/core';
 * import { describeThrottleStoreConformance } from '@policyd/core/conformance';
 *
 * describeThrottleStoreConformance('memory', async () => ({ store: createMemoryThrottleStore(), close: async () => {} }));
 * ```
 *
 * @packageDocumentation
 */

export type { DomainStoreHarness } from './stores/conformance/domain-store.ts';
export { describeDomainStoreConformance } from './stores/conformance/domain-store.ts';
export type { GreylistStoreHarness } from './stores/conformance/greylist-store.ts';
export { describeGreylistStoreConformance } from './stores/conformance/greylist-store.ts';
export type { HarnessFactory, SeedableStoreHarness, StoreHarness } from './stores/conformance/harness.ts';
export { expectPolicydError, seconds, T0, useHarness } from './stores/conformance/harness.ts';
export type { SmtpSessionLogHarness } from './stores/conformance/smtp-session-log.ts';
export { describeSmtpSessionLogConformance } from './stores/conformance/smtp-session-log.ts';
export type { ThrottleStoreHarness } from './stores/conformance/throttle-store.ts';
export { describeThrottleStoreConformance } from './stores/conformance/throttle-store.ts';
export type { WblistStoreHarness } from './stores/conformance/wblist-store.ts';
export { describeWblistStoreConformance } from './stores/conformance/wblist-store.ts';
