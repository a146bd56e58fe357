/**
 * Network entries in stored lists: a stored value (`mailaddr.email`, a greylisting whitelist sender, a `users`
 * account) is a network when it parses as a strict IPv4 or IPv6 CIDR network. Stores find candidate rows any
 * way they like (a SQL store by text prefix) and must decide containment with {@link storedNetworkContains},
 * so that every implementation matches the same rows.
 */

import { type IpNetwork, parseNetwork } from '../ip.ts';

/**
 * The network a stored value denotes, or `undefined` when it is not a strict network (a plain address, a
 * wildcard, `1.2.3.4/24` with host bits set, …). Spelling does not matter (`2001:DB8::/32` works).
 */
export function storedNetwork(value: string): IpNetwork | undefined {
  return value.includes('/') ? parseNetwork(value) : undefined;
}

/**
 * True when the stored value is a strict network (IPv4 or IPv6, any prefix length) containing `clientAddress`.
 * Never throws: an invalid value or client gives `false`; `''` matches nothing.
 */
export function storedNetworkContains(value: string, clientAddress: string): boolean {
  if (clientAddress === '') return false;
  return storedNetwork(value)?.contains(clientAddress) === true;
}
