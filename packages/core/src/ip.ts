/**
 * IP address helpers on top of ipaddr.js.
 */

import ipaddr from 'ipaddr.js';

/**
 * The canonical text of an IP address: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) becomes IPv4, IPv6 is
 * compressed and lower-cased (`2001:DB8:0::1` → `2001:db8::1`). Returns `undefined` for anything that is not
 * an IP address (zone ids included).
 */
export function normalizeIp(value: string): string | undefined {
  const text = value.trim();
  if (!ipaddr.isValid(text) || text.includes('%')) return undefined;
  // ipaddr.isValid accepts legacy IPv4 forms such as "10" or "0x7f.1"; only dotted quads are addresses here.
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (parsed as ipaddr.IPv6).toIPv4Address().toString();
  }
  return parsed.toString();
}
