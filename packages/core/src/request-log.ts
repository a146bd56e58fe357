/**
 * The fields of the one log line the server writes per request.
 */

import { toAction } from './decision.ts';
import type { Evaluation } from './policy.ts';
import type { PolicyRequest } from './request.ts';

/**
 * Structured fields describing one answered request, for the server's per-request `info` line.
 * Keys are always present; `sender` is `''` for the null sender, `sasl` is `''` without SMTP AUTH, and
 * `plugin`/`reason` are `undefined` (left out of pino's JSON) when no plugin decided or gave no reason.
 *
 * - `client`: `client_address` (canonical form); `state`: `protocol_state`;
 * - `sender`, `recipient`, `sasl`: the lower-cased addresses (`sasl` is the SASL user name);
 * - `action`: the text sent after `action=`; `plugin`: the plugin that decided (none when all said DUNNO);
 * - `reason`: the decision's reason code; `durationMs`: evaluation time, rounded to microseconds.
 *
 * @example
 * ```ts
 * log.info(requestLogFields(request, evaluation), 'policy request');
 * // {"client":"192.0.2.1","state":"RCPT","sender":"a@example.com",…,"action":"REJECT Blacklisted",…}
 * ```
 */
export function requestLogFields(request: PolicyRequest, evaluation: Evaluation): Record<string, unknown> {
  return {
    client: request.clientAddress,
    state: request.protocolState,
    sender: request.sender.address,
    recipient: request.recipient.address,
    sasl: request.saslUsername.address,
    action: toAction(evaluation.decision),
    plugin: evaluation.decidedBy,
    reason: evaluation.decision.reason,
    durationMs: Math.round(evaluation.durationMs * 1000) / 1000,
  };
}
