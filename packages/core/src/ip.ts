/**
 * IP address and network helpers on top of ipaddr.js: canonical text, strict CIDR networks, containment and
 * the per-network grouping used by greylisting.
 *
 * IPv4-mapped IPv6 is treated as IPv4 everywhere: `::ffff:192.0.2.1` is the address `192.0.2.1`, and a network
 * inside `::ffff:0:0/96` (`::ffff:192.0.2.0/120`) is the IPv4 network `192.0.2.0/24`. Postfix reports mapped
 * clients in their IPv4 form, so this keeps one spelling per client. Pure functions, no I/O.
 */

import ipaddr from 'ipaddr.js';
import { PolicydError } from './errors.ts';

/** The two address families. */
export type IpFamily = 'ipv4' | 'ipv6';

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

/**
 * The family of an IP address after {@link normalizeIp} (so `::ffff:192.0.2.1` is `'ipv4'`), or `undefined`
 * when the value is not an IP address.
 */
export function ipFamily(value: string): IpFamily | undefined {
  const ip = normalizeIp(value);
  if (ip === undefined) return undefined;
  return ip.includes(':') ? 'ipv6' : 'ipv4';
}

/** A strict CIDR network (no host bits set), in canonical form. Frozen. */
export interface IpNetwork {
  /** Address family; networks inside `::ffff:0:0/96` are IPv4. */
  readonly family: IpFamily;
  /** Canonical network address, e.g. `192.0.2.0` or `2001:db8::`. */
  readonly address: string;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefixLength: number;
  /** Canonical CIDR text, e.g. `192.0.2.0/24` or `2001:db8::/32`. */
  readonly cidr: string;
  /**
   * True when `ip` lies inside this network. Any spelling of the address works (IPv6 case and compression,
   * IPv4-mapped IPv6); an IPv4 address is never inside an IPv6 network and vice versa. Never throws: a value
   * that is not an IP address gives `false`.
   */
  contains(ip: string): boolean;
}

/**
 * What {@link inspectNetwork} found. `host-bits-set` carries the network the text would denote once its host
 * bits are cleared (`172.16.1.1/24` → `172.16.1.0/24`), so a warning can suggest it.
 */
export type NetworkInspection =
  | { readonly ok: true; readonly network: IpNetwork }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'host-bits-set'; readonly network: IpNetwork };

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;
const INVALID: NetworkInspection = Object.freeze({ ok: false, reason: 'invalid' });

/** Parses a canonical address text (as returned by normalizeIp); never throws for such input. */
function parseCanonical(ip: string): ipaddr.IPv4 | ipaddr.IPv6 {
  return ip.includes(':') ? ipaddr.IPv6.parse(ip) : ipaddr.IPv4.parse(ip);
}

function makeNetwork(range: Range): IpNetwork {
  const [base, prefixLength] = range;
  const family = base.kind();
  const address = base.toString();
  return Object.freeze({
    family,
    address,
    prefixLength,
    cidr: `${address}/${prefixLength}`,
    contains(ip: string): boolean {
      const canonical = normalizeIp(ip);
      if (canonical === undefined) return false;
      const parsed = parseCanonical(canonical);
      return parsed.kind() === family && parsed.match(range);
    },
  });
}

/**
 * Checks a CIDR network text the way iRedAPD's settings need it: `address/prefix` with a dotted-quad IPv4 or
 * an IPv6 address (no zone id), a decimal prefix in range, and no host bits set. Surrounding whitespace is
 * ignored. A bare address without `/prefix` and netmask forms (`/255.255.255.0`) are `invalid`. An IPv6
 * network inside `::ffff:0:0/96` is returned as the IPv4 network it covers.
 *
 * @example
 * ```ts
 * inspectNetwork('172.16.1.1/24'); // { ok: false, reason: 'host-bits-set', network: <172.16.1.0/24> }
 * ```
 */
export function inspectNetwork(text: string): NetworkInspection {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash === -1 || /\s/.test(trimmed)) return INVALID;
  const addressText = trimmed.slice(0, slash);
  const prefixText = trimmed.slice(slash + 1);
  if (!PREFIX.test(prefixText) || normalizeIp(addressText) === undefined) return INVALID;
  let prefix = Number(prefixText);
  let address = ipaddr.parse(addressText);
  if (address.kind() === 'ipv6') {
    if (prefix > 128) return INVALID;
    const v6 = address as ipaddr.IPv6;
    // A network inside ::ffff:0:0/96 is an IPv4 network (clients are normalised to IPv4, see normalizeIp).
    if (v6.isIPv4MappedAddress() && prefix >= 96) {
      address = v6.toIPv4Address();
      prefix -= 96;
    }
  } else if (prefix > 32) {
    return INVALID;
  }
  const base =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  const network = makeNetwork([base, prefix]);
  if (base.toString() !== address.toString())
    return Object.freeze({ ok: false, reason: 'host-bits-set', network });
  return Object.freeze({ ok: true, network });
}

/**
 * A strict CIDR network (see {@link inspectNetwork}), or `undefined` when the text is not one, including when
 * host bits are set (`1.2.3.4/24`), as iRedAPD requires.
 *
 * @example
 * ```ts
 * parseNetwork('2001:DB8::/32')?.cidr; // '2001:db8::/32'
 * parseNetwork('1.2.3.4/24');          // undefined
 * ```
 */
export function parseNetwork(text: string): IpNetwork | undefined {
  const result = inspectNetwork(text);
  return result.ok ? result.network : undefined;
}

/**
 * True when `ip` lies inside `network` (an {@link IpNetwork} or a strict CIDR text). Never throws: an invalid
 * network or address gives `false`. Parse a network once with {@link parseNetwork} when testing many addresses.
 */
export function networkContains(network: IpNetwork | string, ip: string): boolean {
  const parsed = typeof network === 'string' ? parseNetwork(network) : network;
  return parsed?.contains(ip) === true;
}

/** Prefix lengths for {@link clientNetwork}. */
export interface ClientNetworkOptions {
  /** IPv4 prefix length, 0–32. Default 24. */
  readonly v4Prefix?: number;
  /** IPv6 prefix length, 0–128. Default 64. */
  readonly v6Prefix?: number;
}

function checkPrefix(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `${name} must be an integer from 0 to ${max}, got ${String(value)}`,
      { value },
    );
  }
  return value;
}

/**
 * The canonical CIDR text of the network a client address belongs to, for grouping clients by network
 * (e.g. greylisting per /24 or /64): `192.0.2.77` → `192.0.2.0/24`, `2001:db8:1:2:3::4` → `2001:db8:1:2::/64`.
 * IPv4-mapped IPv6 counts as IPv4. Returns `undefined` when `ip` is not an IP address.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when a prefix length is out of range.
 */
export function clientNetwork(ip: string, options: ClientNetworkOptions = {}): string | undefined {
  const v4Prefix = checkPrefix('v4Prefix', options.v4Prefix ?? 24, 32);
  const v6Prefix = checkPrefix('v6Prefix', options.v6Prefix ?? 64, 128);
  const canonical = normalizeIp(ip);
  if (canonical === undefined) return undefined;
  if (canonical.includes(':')) {
    return `${ipaddr.IPv6.networkAddressFromCIDR(`${canonical}/${v6Prefix}`).toString()}/${v6Prefix}`;
  }
  return `${ipaddr.IPv4.networkAddressFromCIDR(`${canonical}/${v4Prefix}`).toString()}/${v4Prefix}`;
}

/**
 * Every strict network that contains `ip`, as canonical CIDR text, from the address itself (`/32`, `/128`) down
 * to `/0`: 33 networks for an IPv4 address, 129 for IPv6. A stored network in canonical form contains the client
 * exactly when it is in this list, so `stored IN (containingNetworks(ip))` matches network entries with an
 * indexed look-up instead of a scan (`parseAccount` stores networks in this form). IPv4-mapped IPv6 counts as
 * IPv4. Returns `[]` when `ip` is not an IP address.
 *
 * @example
 * ```ts
 * containingNetworks('192.0.2.77').slice(0, 3); // ['192.0.2.77/32', '192.0.2.76/31', '192.0.2.76/30']
 * containingNetworks('192.0.2.77').at(-1);      // '0.0.0.0/0'
 * ```
 */
export function containingNetworks(ip: string): string[] {
  const canonical = normalizeIp(ip);
  if (canonical === undefined) return [];
  const bytes = parseCanonical(canonical).toByteArray();
  const bits = bytes.length * 8;
  const networks: string[] = [];
  for (let prefix = bits; prefix >= 0; prefix--) {
    if (prefix < bits) {
      // Clear the host bit that this prefix length no longer covers.
      const index = prefix >> 3;
      bytes[index] = (bytes[index] ?? 0) & ~(0x80 >> (prefix & 7));
    }
    networks.push(`${ipaddr.fromByteArray(bytes).toString()}/${prefix}`);
  }
  return networks;
}
