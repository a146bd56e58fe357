/**
 * The daemon's one log line per request, in iRedAPD's words: `[client] STATE, who, action [details]`, with the
 * same facts as structured fields for log tools.
 */

import { type Evaluation, type PolicyRequest, requestLogFields, toAction } from '@policyd/core';

/** One request's log entry: pino's `msg` and the fields beside it. */
export interface RequestLine {
  /** iRedAPD's text, e.g. `[192.0.2.10] RCPT, a@example.net -> b@example.com, DUNNO [sasl_username=, …]`. */
  readonly msg: string;
  /** core's `requestLogFields` (client, state, sender, recipient, sasl, action, plugin, reason, durationMs). */
  readonly fields: Record<string, unknown>;
}

/**
 * iRedAPD's "who" part: `sender -> recipient` without SMTP AUTH, `sasl => recipient` when the login is the
 * sender, `sasl => sender -> recipient` otherwise.
 */
export function whoOf(request: PolicyRequest): string {
  const sasl = request.saslUsername.address;
  const sender = request.sender.address;
  const recipient = request.recipient.address;
  if (sasl === '') return `${sender} -> ${recipient}`;
  if (sasl === sender) return `${sasl} => ${recipient}`;
  return `${sasl} => ${sender} -> ${recipient}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(4)}s`;
}

/**
 * The log entry of one answered request. RCPT lines list the client details iRedAPD lists
 * (`reverse_client_name` without its brackets); other states list `recipient_count` and `size`. policyd adds
 * `plugin=<name>` (the plugin that decided) before `process_time` when a plugin decided.
 *
 * @example
 * ```ts
 * requestLine(request, evaluation).msg;
 * // [192.0.2.10] RCPT, a@example.net -> b@example.com, 451 4.7.1 Intentional policy rejection, please try
 * // again later [sasl_username=, sender=a@example.net, client_name=mail.example.net, …, plugin=greylisting,
 * // process_time=0.0021s]
 * ```
 */
export function requestLine(request: PolicyRequest, evaluation: Evaluation): RequestLine {
  const details: string[] =
    request.protocolState === 'RCPT'
      ? [
          `sasl_username=${request.saslUsername.address}`,
          `sender=${request.sender.address}`,
          `client_name=${request.clientName}`,
          `reverse_client_name=${request.reverseClientName.replace(/^\[|\]$/g, '')}`,
          `helo=${request.heloName}`,
          `encryption_protocol=${request.encryptionProtocol}`,
          `encryption_cipher=${request.encryptionCipher}`,
          `server_port=${request.attrs.get('server_port') ?? ''}`,
        ]
      : [`recipient_count=${request.recipientCount}`, `size=${request.size}`];
  if (evaluation.decidedBy !== undefined) details.push(`plugin=${evaluation.decidedBy}`);
  details.push(`process_time=${seconds(evaluation.durationMs)}`);
  const state =
    request.protocolState === 'UNKNOWN' ? (request.attrs.get('protocol_state') ?? '') : request.protocolState;
  const msg = `[${request.clientAddress}] ${state}, ${whoOf(request)}, ${toAction(evaluation.decision)} [${details.join(', ')}]`;
  return { msg, fields: requestLogFields(request, evaluation) };
}
