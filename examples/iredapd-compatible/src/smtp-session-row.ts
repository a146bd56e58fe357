/**
 * Which answers iRedAPD writes to `smtp_sessions`, and the row it writes (iRedAPD's `log_policy_request`
 * rules, with its two logging bugs fixed).
 */

import { type Decision, type PolicyRequest, type SmtpSessionRow, toAction } from '@policyd/core';
import type { SmtpSessionsConfig } from './settings/daemon-config.ts';

/**
 * The `smtp_sessions` row for one answered request, or `undefined` when none is written:
 *
 * - `LOG_SMTP_SESSIONS` off: none;
 * - END-OF-MESSAGE: every answer, DUNNO included; RCPT: every answer but DUNNO; other states: none
 *   (so a message accepted at RCPT is logged once, at END-OF-MESSAGE);
 * - `LOG_SMTP_SESSIONS_BYPASS_GREYLISTING`: not for `451 4.7.1` replies (greylisting's);
 *   `LOG_SMTP_SESSIONS_BYPASS_WHITELIST`: not for `OK`; `LOG_SMTP_SESSIONS_BYPASS_DUNNO`: not for DUNNO.
 *
 * Differences from iRedAPD (documented fixes): `LOG_SMTP_SESSIONS_BYPASS_DUNNO` is honoured (iRedAPD never
 * reads it), and the state is compared after upper-casing (iRedAPD never logs a lower-case `rcpt`).
 *
 * @param decision - the answer sent; the row's `action` and `reason` come from its wire text
 * @param now - when, in milliseconds since the epoch
 *
 * @example
 * ```ts
 * smtpSessionRow(request, Decision.reply(451, 'Intentional policy rejection, please try again later', '4.7.1'), Date.now(), config);
 * // { action: '451', reason: '4.7.1 Intentional policy rejection, please try again later', … }
 * ```
 */
export function smtpSessionRow(
  request: PolicyRequest,
  decision: Decision,
  now: number,
  config: SmtpSessionsConfig,
): SmtpSessionRow | undefined {
  if (!config.enabled) return undefined;
  const state = request.protocolState;
  const kind = decision.action;
  if (state !== 'END-OF-MESSAGE' && !(state === 'RCPT' && kind !== 'DUNNO')) return undefined;
  const greylisted = kind === 'REPLY' && decision.code === 451 && decision.status === '4.7.1';
  if (config.bypassGreylisting && greylisted) return undefined;
  if (config.bypassWhitelist && kind === 'OK') return undefined;
  if (config.bypassDunno && kind === 'DUNNO') return undefined;
  const action = toAction(decision);
  const space = action.indexOf(' ');
  const word = space < 0 ? action : action.slice(0, space);
  return {
    time: now,
    action: word,
    reason: word === 'DUNNO' || space < 0 ? '' : action.slice(space + 1),
    instance: request.instance,
    clientAddress: request.clientAddress,
    clientName: request.clientName,
    reverseClientName: request.reverseClientName,
    heloName: request.heloName,
    sender: request.sender.withoutExtension,
    senderDomain: request.sender.domain,
    saslUsername: request.saslUsername.address,
    saslDomain: request.saslUsername.domain,
    recipient: request.recipient.withoutExtension,
    recipientDomain: request.recipient.domain,
    encryptionProtocol: request.encryptionProtocol,
    encryptionCipher: request.encryptionCipher,
    serverAddress: request.serverAddress,
    serverPort: request.attrs.get('server_port') ?? '',
  };
}
