/**
 * Which greylisting setting applies: iRedAPD walks the settings of the recipient's policy addresses in
 * precedence order and the first row whose sender matches decides. Sender matching here fixes iRedAPD's
 * bugs: stored senders compare lower-cased (B19), networks match whatever their stored priority and family
 * (B17, B18), and wildcard IPv4 senders match by octet (B16).
 */

import { type GreylistSetting, matchesWildcardIPv4, normalizeIp, storedNetworkContains } from '@policyd/core';

/** How a setting's sender matched the request. */
export type SettingMatchKind = 'sender' | 'client-ip' | 'network' | 'wildcard-ip';

/** The setting that decides, and how it matched. */
export interface SettingMatch {
  /** The deciding row. */
  readonly setting: GreylistSetting;
  /** What its sender matched. */
  readonly via: SettingMatchKind;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The store's settings order (priority desc, sender priority desc, account, sender), for merging the rows
 * of several look-ups (the recipient and its alias target).
 */
export function compareSettings(a: GreylistSetting, b: GreylistSetting): number {
  return (
    b.priority - a.priority ||
    b.senderPriority - a.senderPriority ||
    byText(a.account, b.account) ||
    byText(a.sender, b.sender)
  );
}

/** How one stored sender matches the request, if it does. */
function matchSender(
  stored: string,
  senders: ReadonlySet<string>,
  clientAddress: string,
): SettingMatchKind | undefined {
  const sender = stored.trim().toLowerCase();
  if (senders.has(sender)) return sender === clientAddress ? 'client-ip' : 'sender';
  if (sender.includes('/')) return storedNetworkContains(sender, clientAddress) ? 'network' : undefined;
  if (sender.includes('*')) return matchesWildcardIPv4(sender, clientAddress) ? 'wildcard-ip' : undefined;
  if (sender.includes(':') || /^[\d.]+$/.test(sender)) {
    // An address stored in another spelling (2001:DB8:0::1) is still the client.
    return normalizeIp(sender) === clientAddress ? 'client-ip' : undefined;
  }
  return undefined;
}

/**
 * The first setting, in the given order, whose sender matches: one of `senders` (the sender's policy
 * addresses, lower-case), the client address, a network containing it, or a wildcard IPv4 pattern
 * matching it.
 *
 * @param settings - rows in precedence order
 * @param senders - the sender's policy addresses (`user@domain`, `@domain`, `@.`, `@.domain` …)
 * @param clientAddress - the client IP, canonical
 */
export function findSetting(
  settings: readonly GreylistSetting[],
  senders: readonly string[],
  clientAddress: string,
): SettingMatch | undefined {
  const candidates = new Set(senders);
  candidates.add(clientAddress);
  for (const setting of settings) {
    const via = matchSender(setting.sender, candidates, clientAddress);
    if (via !== undefined) return { setting, via };
  }
  return undefined;
}
