import { isIP } from 'node:net';
import { Decision, type PolicyPlugin } from '@policyd/core';

/** Options of {@link rejectBareIpHelo}. */
export interface RejectBareIpHeloOptions {
  /** Text of the reject reply. */
  readonly message?: string;
}

/**
 * Reject clients whose HELO/EHLO name is an IP address without brackets: RFC 5321 requires an address literal
 * (`[192.0.2.1]`), and spam software often gets it wrong. Runs at RCPT, like Postfix's own restrictions with
 * `smtpd_delay_reject = yes`, so the reject names the recipient in the logs.
 */
export function rejectBareIpHelo(options: RejectBareIpHeloOptions = {}): PolicyPlugin {
  const message = options.message ?? 'Invalid HELO: an IP address must be written as [address]';
  return {
    name: 'reject_bare_ip_helo',
    priority: 95,
    check: (req) =>
      isIP(req.heloName) === 0
        ? Decision.dunno('helo-ok')
        : Decision.reply(550, message, '5.7.1', 'bare-ip-helo'),
  };
}
