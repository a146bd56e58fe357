/**
 * Trusted clients: iRedAPD's `MYNETWORKS` setting and `is_trusted_client`, with real matching.
 *
 * Entries are single IP addresses (any spelling), wildcard IPv4 patterns (`192.168.*.*`, any `*` position) and
 * strict CIDR networks (IPv4 or IPv6). Every entry is parsed once, at construction; {@link TrustedNetworks.contains}
 * only parses the client address. Differences from iRedAPD (docs/iredapd-compatibility.md): wildcard entries
 * match by octet instead of only when iRedAPD's wildcard generator produces the same string (B9), addresses
 * compare canonically (`2001:DB8::1` trusts `2001:db8::1`; `::ffff:127.0.0.1` is `127.0.0.1`), and an invalid
 * entry or a network with host bits set is reported instead of silently dropped.
 */

import ipaddr from 'ipaddr.js';
import { parseWildcardIPv4, type WildcardIPv4 } from './candidates.ts';
import { PolicydError } from './errors.ts';
import { inspectNetwork, normalizeIp } from './ip.ts';

/** A parsed `MYNETWORKS` list. Frozen. */
export interface TrustedNetworks {
  /**
   * True when the client address is trusted: it is `127.0.0.1` or `::1` (in any spelling, always trusted as in
   * iRedAPD; other loopback addresses such as `127.0.0.2` only if listed), equals a listed address, matches a
   * wildcard entry, or lies in a listed network. Never throws: a value that is not an IP address is not trusted.
   */
  contains(ip: string): boolean;
  /** The accepted entries in canonical form (addresses and networks canonicalised), without duplicates. */
  readonly entries: readonly string[];
}

/** Options for {@link createTrustedNetworks}. */
export interface TrustedNetworksOptions {
  /**
   * Called once for each entry that is skipped, with the entry as given and a sentence saying why (for a
   * network with host bits set it names the network that was probably meant). Without it, the first invalid
   * entry throws, so a bad entry is never dropped silently.
   */
  readonly onInvalid?: (entry: string, why: string) => void;
}

/** iRedAPD trusts these two without configuration; compared after normalizeIp. */
const LOOPBACK: readonly string[] = Object.freeze(['127.0.0.1', '::1']);

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Builds the trusted-client check for a `MYNETWORKS`-style list.
 *
 * @param entries - IP addresses, wildcard IPv4 patterns and strict CIDR networks; surrounding whitespace ignored
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for the first invalid entry, when `onInvalid` is not given
 *
 * @example
 * ```ts
 * const trusted = createTrustedNetworks(['192.168.*.*', '10.0.0.0/8', '2001:db8::/32'], {
 *   onInvalid: (entry, why) => logger.warn({ entry }, `MYNETWORKS entry skipped: ${why}`),
 * });
 * trusted.contains('192.168.5.6'); // true
 * ```
 */
export function createTrustedNetworks(
  entries: readonly string[],
  options: TrustedNetworksOptions = {},
): TrustedNetworks {
  const report = (entry: string, why: string): void => {
    if (options.onInvalid === undefined) {
      throw new PolicydError(
        'POLICYD_ERR_INVALID_OPTION',
        `Invalid MYNETWORKS entry ${JSON.stringify(entry)}: ${why}`,
        {
          value: entry,
        },
      );
    }
    options.onInvalid(entry, why);
  };
  const addresses = new Set<string>(LOOPBACK);
  const wildcards: WildcardIPv4[] = [];
  const v4Networks: Range[] = [];
  const v6Networks: Range[] = [];
  const accepted = new Set<string>();

  for (const raw of entries as readonly unknown[]) {
    if (typeof raw !== 'string') {
      report(String(raw), 'not a string');
      continue;
    }
    const entry = raw.trim();
    if (entry.includes('/')) {
      const result = inspectNetwork(entry);
      if (!result.ok) {
        report(
          raw,
          result.reason === 'host-bits-set'
            ? `host bits are set in the network (did you mean ${result.network.cidr}?)`
            : 'not a valid network (expected address/prefix, e.g. 192.168.0.0/16 or 2001:db8::/32)',
        );
        continue;
      }
      const { cidr, family } = result.network;
      if (accepted.has(cidr)) continue;
      accepted.add(cidr);
      (family === 'ipv4' ? v4Networks : v6Networks).push(ipaddr.parseCIDR(cidr));
      continue;
    }
    const ip = normalizeIp(entry);
    if (ip !== undefined) {
      addresses.add(ip);
      accepted.add(ip);
      continue;
    }
    const wildcard = parseWildcardIPv4(entry);
    if (wildcard === undefined) {
      report(raw, 'not an IP address, a wildcard IPv4 address (192.168.*.*) or a network (192.168.0.0/16)');
      continue;
    }
    const text = wildcard.join('.');
    if (accepted.has(text)) continue;
    accepted.add(text);
    wildcards.push(wildcard);
  }

  return Object.freeze({
    entries: Object.freeze([...accepted]),
    contains(ip: string): boolean {
      const canonical = normalizeIp(ip);
      if (canonical === undefined) return false;
      if (addresses.has(canonical)) return true;
      const isV6 = canonical.includes(':');
      if (!isV6 && wildcards.length > 0) {
        // matchesWildcardIPv4's test, with the client's octets split once for all patterns.
        const octets = canonical.split('.').map(Number);
        if (wildcards.some((w) => w.every((p, i) => p === '*' || p === octets[i]))) return true;
      }
      const networks = isV6 ? v6Networks : v4Networks;
      if (networks.length === 0) return false;
      const parsed = isV6 ? ipaddr.IPv6.parse(canonical) : ipaddr.IPv4.parse(canonical);
      return networks.some((range) => parsed.match(range));
    },
  });
}
