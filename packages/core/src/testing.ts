/**
 * `@policyd/core/testing`: build requests, control the clock, fake DNS, and evaluate requests through a
 * policy without sockets. Nothing here needs a test runner; the store conformance suites are in
 * `@policyd/core/conformance`.
 *
 * @example
 * ```ts
 * import { createPolicy } from '@policyd/core';
 * import { evaluateRequest, fixedClock } from '@policyd/core/testing';
 *
 * const clock = fixedClock();
 * const policy = await createPolicy({ plugins: [myPlugin()], now: clock.now });
 * const { decision, trace } = await evaluateRequest(policy, { sender: 'a@example.net', client_address: '192.0.2.1' });
 * ```
 *
 * @packageDocumentation
 */

export type { FixedClock } from './testing/clock.ts';
export { fixedClock } from './testing/clock.ts';
export { evaluateRequest } from './testing/evaluate.ts';
export type { FakeQuery, FakeRecordType, FakeResolver, FakeZoneEntry } from './testing/fake-resolver.ts';
export { createFakeResolver } from './testing/fake-resolver.ts';
export type { RequestAttributes } from './testing/request-builder.ts';
export { DEFAULT_REQUEST_ATTRIBUTES, policyRequest, requestText } from './testing/request-builder.ts';
