/**
 * Build requests as Postfix would send them, for tests.
 */

import { toPolicyRequest } from '../normalize.ts';
import type { NormalizeOptions, PolicyRequest } from '../request.ts';

/** Attribute values for {@link policyRequest}: Postfix attribute names, strings or numbers. */
export type RequestAttributes = Readonly<Record<string, string | number>>;

/** The attributes a typical RCPT request carries; {@link policyRequest} starts from these. */
export const DEFAULT_REQUEST_ATTRIBUTES: RequestAttributes = Object.freeze({
  request: 'smtpd_access_policy',
  protocol_state: 'RCPT',
  protocol_name: 'ESMTP',
  helo_name: 'mail.example.net',
  queue_id: '',
  sender: 'sender@example.net',
  recipient: 'user@example.com',
  recipient_count: 0,
  client_address: '192.0.2.10',
  client_name: 'mail.example.net',
  reverse_client_name: 'mail.example.net',
  instance: '1a2b.3c4d5e6f.12345.0',
  sasl_method: '',
  sasl_username: '',
  sasl_sender: '',
  size: 0,
});

/**
 * A normalised {@link PolicyRequest}: the default RCPT attributes overridden by `attrs`, then decoded exactly
 * as the server would decode them.
 *
 * @example
 * ```ts
 * const req = policyRequest({ sender: 'A+tag@Example.NET', protocol_state: 'END-OF-MESSAGE', size: 2048 });
 * req.sender.withoutExtension; // 'a@example.net'
 * ```
 */
export function policyRequest(attrs: RequestAttributes = {}, options?: NormalizeOptions): PolicyRequest {
  const merged = new Map<string, string>();
  for (const [name, value] of Object.entries({ ...DEFAULT_REQUEST_ATTRIBUTES, ...attrs })) {
    merged.set(name, String(value));
  }
  return toPolicyRequest(merged, options);
}

/**
 * The raw protocol text of a request (attribute lines and the final empty line), for socket tests.
 */
export function requestText(attrs: RequestAttributes = {}): string {
  const lines = Object.entries({ ...DEFAULT_REQUEST_ATTRIBUTES, ...attrs }).map(([k, v]) => `${k}=${v}\n`);
  return `${lines.join('')}\n`;
}
