/**
 * Which stored setting accounts can apply to one side of a message, and which counter a matching setting
 * charges (iRedAPD's tracking key).
 */

import {
  classifyAccount,
  containingNetworks,
  domainOf,
  everyWildcardIPv4,
  isEmail,
  localPartOf,
  policyAddresses,
  wildcardAddress,
  wildcardIPv4,
} from '@policyd/core';

/** How client wildcard candidates are generated. */
export interface ClientCandidateOptions {
  /** iRedAPD's `ENABLE_ALL_WILDCARD_IP`: every wildcard form instead of `a.b.c.*` and `a.b.*.d` only. */
  readonly enableAllWildcardIp: boolean;
}

/**
 * Accounts that match the client: the address, `@ip`, its wildcard IPv4 forms and every network containing it
 * (canonical CIDR text, so a stored network matches with `IN (…)`; iRedAPD never matched networks, B27).
 */
export function clientCandidates(clientAddress: string, options: ClientCandidateOptions): string[] {
  if (clientAddress === '') return ['@ip'];
  const wildcards = options.enableAllWildcardIp
    ? everyWildcardIPv4(clientAddress)
    : wildcardIPv4(clientAddress);
  return [clientAddress, '@ip', ...wildcards, ...containingNetworks(clientAddress)];
}

/**
 * Accounts that match the throttled user (sender or recipient): none for an empty user (iRedAPD), otherwise its
 * policy addresses (`user@domain`, `@domain`, `@.`, `@.sub…`) and, for an e-mail address, its `local@*` form
 * (iRedAPD never generated it, B27).
 */
export function userCandidates(user: string): string[] {
  if (user === '') return [];
  const candidates = policyAddresses(user);
  if (isEmail(user)) candidates.push(wildcardAddress(user));
  return candidates;
}

/**
 * The user's domain when an alias-domain look-up can matter (the user is an e-mail address), else `undefined`.
 */
export function aliasLookupDomain(user: string): string | undefined {
  return user !== '' && isEmail(user) ? domainOf(user) : undefined;
}

/** The policy addresses of `<local part>@<alias target>` (iRedAPD's alias-domain candidates). */
export function aliasCandidates(user: string, targetDomain: string): string[] {
  return policyAddresses(`${localPartOf(user)}@${targetDomain}`);
}

/**
 * The tracking key (`throttle_tracking.account`) of a setting's counter:
 * - an IP address or `@ip` setting counts per client IP;
 * - a wildcard IPv4, `user@*` or network setting counts for the whole range, under its own account;
 * - anything else (`user@domain`, `@domain`, `@.sub`, `@.tld`, `@.`) counts per throttled user, even for a
 *   domain or global setting (iRedAPD's semantics, B30).
 */
export function trackingAccount(settingAccount: string, user: string, clientAddress: string): string {
  switch (classifyAccount(settingAccount)) {
    case 'ip':
    case 'catchall_ip':
      return clientAddress;
    case 'wildcard_ip':
    case 'wildcard_addr':
    case 'cidr':
      return settingAccount;
    default:
      return user;
  }
}
