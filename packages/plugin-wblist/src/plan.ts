/**
 * What one request asks of the lists: who the sender and recipient are for amavisd_wblist, which domains to
 * look up, and the candidate lists of the single store look-up. Pure functions, no I/O.
 */

import {
  type DomainInfo,
  everyWildcardIPv4,
  isDomain,
  localPartOf,
  type PolicyRequest,
  policyAddresses,
  type WblistLookupQuery,
  wildcardAddress,
  wildcardIPv4,
} from '@policyd/core';

/** The parties of a request as amavisd_wblist sees them. */
export interface WblistSubject {
  /** The client authenticated: the sender is the SASL login, and outbound lists apply. */
  readonly sasl: boolean;
  /** The SASL login, or else the envelope sender without its extension; `''` for the null sender. */
  readonly sender: string;
  /** The domain of {@link sender} (the whole value when it has no `@`). */
  readonly senderDomain: string;
  /** The recipient without its extension. */
  readonly recipient: string;
  /** The recipient's domain. */
  readonly recipientDomain: string;
  /** The client IP (canonical), `''` when absent. */
  readonly clientAddress: string;
}

/** The settings the candidate lists depend on. */
export interface PlanSettings {
  /** Skip the outbound lists. */
  readonly bypassOutgoing: boolean;
  /** Match every wildcard IPv4 form, not just `a.b.c.*` and `a.b.*.d`. */
  readonly enableAllWildcardIp: boolean;
  /** The server's host name (lower case), counted as a local domain; `''` for none. */
  readonly hostname: string;
}

/** The store look-up for a request, and why a stage was left out. */
export interface WblistPlan {
  /** The look-up to make; `undefined` when neither stage applies. */
  readonly query: WblistLookupQuery | undefined;
  /** Why a stage does not run, when one does not: added to the reason of a DUNNO. */
  readonly note?: string;
}

/** Who sends and who receives, for amavisd_wblist: authenticated mail is judged by its login. */
export function wblistSubject(request: PolicyRequest): WblistSubject {
  const sasl = request.saslUsername.address !== '';
  return {
    sasl,
    sender: sasl ? request.saslUsername.address : request.sender.withoutExtension,
    senderDomain: sasl ? request.saslUsername.domain : request.sender.domain,
    recipient: request.recipient.withoutExtension,
    recipientDomain: request.recipient.domain,
    clientAddress: request.clientAddress,
  };
}

/**
 * Why iRedAPD skips the request before any look-up, or `undefined`: the null sender (a bounce, even from a
 * blacklisted client: iRedAPD's behaviour, kept) and mail to oneself.
 */
export function skipReason(subject: WblistSubject): string | undefined {
  if (subject.sender === '') return 'skip: null sender';
  if (subject.sender === subject.recipient) return 'skip: sender is the recipient';
  return undefined;
}

/** The domains whose alias target and locality the request needs: the valid ones of sender and recipient. */
export function domainsToLookUp(subject: WblistSubject): string[] {
  const domains = new Set<string>();
  for (const domain of [subject.senderDomain, subject.recipientDomain]) {
    if (isDomain(domain)) domains.add(domain.toLowerCase());
  }
  return [...domains];
}

function aliasTarget(domains: ReadonlyMap<string, DomainInfo>, domain: string): string | undefined {
  return isDomain(domain) ? domains.get(domain.toLowerCase())?.aliasTarget : undefined;
}

/**
 * The candidate lists of iRedAPD's `amavisd_wblist` and which stages run:
 * - senders: the sender's policy addresses, `local@*` (not for SASL mail), the client IP, its wildcard forms,
 *   and the policy addresses of `local@<target>` when the sender domain is an alias domain;
 * - recipients: the recipient's policy addresses, plus those of `local@<target>` for an alias domain;
 * - outbound (SASL mail, unless bypassed): the login's accounts list the recipients;
 * - inbound: always without SASL; with SASL only when the recipient shares the login's domain, is in an alias
 *   domain, or is in a local domain (backup MX and the host name included, alias domains not).
 */
export function planLookup(
  subject: WblistSubject,
  domains: ReadonlyMap<string, DomainInfo>,
  settings: PlanSettings,
): WblistPlan {
  const senders = new Set(policyAddresses(subject.sender));
  if (!subject.sasl) senders.add(wildcardAddress(subject.sender));
  const client = subject.clientAddress;
  if (client !== '') {
    senders.add(client);
    const forms = settings.enableAllWildcardIp ? everyWildcardIPv4(client) : wildcardIPv4(client);
    for (const form of forms) senders.add(form);
  }
  const senderTarget = aliasTarget(domains, subject.senderDomain);
  if (senderTarget !== undefined) {
    for (const a of policyAddresses(`${localPartOf(subject.sender)}@${senderTarget}`)) senders.add(a);
  }
  const recipients = new Set(policyAddresses(subject.recipient));
  const recipientTarget = aliasTarget(domains, subject.recipientDomain);
  if (recipientTarget !== undefined) {
    for (const a of policyAddresses(`${localPartOf(subject.recipient)}@${recipientTarget}`))
      recipients.add(a);
  }

  const clientAddress = client === '' ? {} : { clientAddress: client };
  const senderList = [...senders];
  const recipientList = [...recipients];
  const outbound =
    subject.sasl && !settings.bypassOutgoing
      ? { accounts: senderList, recipients: recipientList, ...clientAddress }
      : undefined;
  const inboundSkipped = subject.sasl
    ? saslInboundSkipped(subject, domains, settings, recipientTarget)
    : undefined;
  const inbound =
    inboundSkipped === undefined
      ? { accounts: recipientList, senders: senderList, ...clientAddress }
      : undefined;
  if (inbound === undefined && outbound === undefined) {
    return { query: undefined, note: `${inboundSkipped}; outbound lists bypassed (bypassOutgoing)` };
  }
  const query: WblistLookupQuery = {
    ...(inbound === undefined ? {} : { inbound }),
    ...(outbound === undefined ? {} : { outbound }),
  };
  return inboundSkipped === undefined ? { query } : { query, note: inboundSkipped };
}

/** Why SASL mail skips the inbound lists (an external recipient), or `undefined` when they apply. */
function saslInboundSkipped(
  subject: WblistSubject,
  domains: ReadonlyMap<string, DomainInfo>,
  settings: PlanSettings,
  recipientTarget: string | undefined,
): string | undefined {
  const domain = subject.recipientDomain;
  if (subject.senderDomain === domain || recipientTarget !== undefined) return undefined;
  if (isDomain(domain)) {
    const lower = domain.toLowerCase();
    if (lower === settings.hostname || domains.get(lower)?.local === true) return undefined;
  }
  return 'inbound lists skipped: authenticated sender, external recipient';
}
