/**
 * The precedence order of {@link WblistLookupResult}, in one place so every `WblistStore`
 * implementation returns the same order (stores collect matches, then sort them with this).
 */

import type { WblistLookupResult, WblistMatch } from './wblist-store.ts';

/** UTF-16 code unit order, never a locale or database collation. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compare inbound matches for `Array.prototype.sort`: account priority desc, account; then exact matches
 * before network matches; then address priority desc, address.
 */
export function compareInboundWblistMatches(a: WblistMatch, b: WblistMatch): number {
  return (
    b.accountPriority - a.accountPriority ||
    byText(a.account, b.account) ||
    Number(a.byNetwork) - Number(b.byNetwork) ||
    b.addressPriority - a.addressPriority ||
    byText(a.address, b.address)
  );
}

/**
 * Compare outbound matches for `Array.prototype.sort`: exact accounts before network-matched accounts; then
 * account priority desc, account; then address priority desc, address.
 */
export function compareOutboundWblistMatches(a: WblistMatch, b: WblistMatch): number {
  return (
    Number(a.byNetwork) - Number(b.byNetwork) ||
    b.accountPriority - a.accountPriority ||
    byText(a.account, b.account) ||
    b.addressPriority - a.addressPriority ||
    byText(a.address, b.address)
  );
}

/**
 * Sort both directions' matches in place into the order {@link WblistLookupResult} promises, and return them
 * as a lookup result.
 *
 * @example
 * ```ts
 * const inbound: WblistMatch[] = [];
 * const outbound: WblistMatch[] = [];
 * // … collect the rows that apply …
 * return sortWblistMatches(inbound, outbound);
 * ```
 */
export function sortWblistMatches(inbound: WblistMatch[], outbound: WblistMatch[]): WblistLookupResult {
  inbound.sort(compareInboundWblistMatches);
  outbound.sort(compareOutboundWblistMatches);
  return { inbound, outbound };
}
