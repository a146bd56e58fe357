/**
 * The decision table run against one backend: every case fills the lists, evaluates one request through a
 * policy holding only this plugin, and checks the wire action, the reason, and the round-trip budget (at most
 * one `lookupDomains` and one `lookup`).
 */

import { createPolicy, toAction } from '@policyd/core';
import { evaluateRequest } from '@policyd/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWblistAdmin, wblist } from '../src/index.ts';
import { DECISION_CASES, type DecisionCase } from './decision-cases.ts';
import {
  countCalls,
  createCallCounter,
  TEST_HOSTNAME,
  type WblistBackendFactory,
  type WblistTestBackend,
  WORLD_DOMAINS,
} from './harness.ts';

const DEFAULT_REQUEST = Object.freeze({
  sender: 'sender@ext.test',
  recipient: 'user@local.test',
  client_address: '192.0.2.10',
});

async function run(backend: WblistTestBackend, c: DecisionCase) {
  const admin = createWblistAdmin(backend.wblist);
  for (const list of c.lists ?? []) await admin.add(list);
  if (c.rows !== undefined) await backend.seedWblist(c.rows);
  const counter = createCallCounter();
  const plugin = wblist({
    store: countCalls(backend.wblist, 'wblist', counter),
    domains: countCalls(backend.domains, 'domains', counter),
    hostname: TEST_HOSTNAME,
    ...c.options,
  });
  const policy = await createPolicy({ plugins: [plugin] });
  const normalize = c.delimiters === undefined ? undefined : { recipientDelimiters: c.delimiters };
  const evaluation = await evaluateRequest(policy, { ...DEFAULT_REQUEST, ...c.request }, normalize);
  await policy.close();
  return { evaluation, counter };
}

/**
 * Register the decision table for a backend.
 *
 * @param label - backend name for the test titles
 * @param factory - a fresh, empty backend per test
 */
export function describeWblistDecisions(label: string, factory: WblistBackendFactory): void {
  describe(`wblist decisions (${label})`, () => {
    let backend: WblistTestBackend;
    beforeEach(async () => {
      backend = await factory();
      await backend.seedDomains(WORLD_DOMAINS);
    });
    afterEach(async () => {
      await backend.close();
    });

    for (const [group, cases] of Object.entries(DECISION_CASES)) {
      describe(group, () => {
        it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
          const { evaluation, counter } = await run(backend, c);
          expect(evaluation.trace[0]?.error).toBeUndefined();
          expect(toAction(evaluation.decision)).toBe(c.action);
          // The final decision of an all-DUNNO evaluation is a bare DUNNO; the plugin's reason is in the trace.
          expect(evaluation.trace[0]?.decision?.reason).toBe(c.reason);
          if (c.action !== 'DUNNO') expect(evaluation.decidedBy).toBe('amavisd_wblist');
          // The round-trip budget: one domain look-up, one list look-up, nothing else.
          expect(counter.calls.get('domains.lookupDomains') ?? 0).toBeLessThanOrEqual(1);
          expect(counter.calls.get('wblist.lookup') ?? 0).toBeLessThanOrEqual(1);
          expect(counter.total()).toBeLessThanOrEqual(2);
        });
      });
    }
  });
}
