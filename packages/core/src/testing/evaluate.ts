/**
 * Evaluate one request through a policy, without sockets.
 */

import type { Evaluation, Policy } from '../policy.ts';
import type { NormalizeOptions } from '../request.ts';
import { policyRequest, type RequestAttributes } from './request-builder.ts';

/**
 * Build a request from `attrs` (over the default RCPT attributes, see {@link policyRequest}) and evaluate it.
 * Resolves with the whole {@link Evaluation}: the decision, which plugin decided, and the trace.
 *
 * @example
 * ```ts
 * const { decision, decidedBy } = await evaluateRequest(policy, { sender: '', sasl_username: 'john@example.com' });
 * ```
 */
export function evaluateRequest(
  policy: Policy,
  attrs: RequestAttributes = {},
  options?: NormalizeOptions,
): Promise<Evaluation> {
  return policy.evaluate(policyRequest(attrs, options));
}
