/**
 * Who a message is throttled as, and when it is not throttled at all: iRedAPD's `restriction` before any look-up.
 */

import type { PolicyRequest } from '@policyd/core';
import type { SideQuery } from './lookup.ts';
import type { ResolvedThrottleOptions } from './options.ts';

const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', '::1']);

/** Who is throttled, as iRedAPD's `restriction` decides it. */
export function throttledSides(request: PolicyRequest, options: ResolvedThrottleOptions): SideQuery[] {
  const login = request.saslUsername.address;
  // The SASL login is not extension-stripped (iRedAPD); the envelope addresses are.
  const user = login !== '' ? login : request.sender.withoutExtension;
  const internal = login !== '' || LOOPBACK.has(request.clientAddress);
  const result: SideQuery[] = [{ kind: internal ? 'outbound' : 'external', user }];
  if (!(login !== '' && options.bypassLocalRecipient)) {
    result.push({ kind: 'inbound', user: request.recipient.withoutExtension });
  }
  return result;
}

/** Why the message is not throttled at all, or `undefined`. */
export function bypassReason(request: PolicyRequest, options: ResolvedThrottleOptions): string | undefined {
  const login = request.saslUsername.address;
  const senderDomain = login !== '' ? request.saslUsername.domain : request.sender.domain;
  // iRedAPD also bypasses when both domains are empty (null sender, several recipients): not same-domain mail.
  if (options.bypassSameDomain && senderDomain !== '' && senderDomain === request.recipient.domain) {
    return 'throttle:same-domain';
  }
  if (options.bypassMynetworks && options.mynetworks.contains(request.clientAddress)) {
    return 'throttle:trusted-client';
  }
  return undefined;
}
