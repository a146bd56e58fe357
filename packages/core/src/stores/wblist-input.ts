/**
 * Input rules of the `WblistStore` admin methods, shared by every implementation so that all of them
 * accept, canonicalise and reject the same values.
 */

import { MAILADDR_PRIORITIES, parseAccount } from '../accounts.ts';
import { PolicydError } from '../errors.ts';
import type { WblistChange, WblistDirection, WblistList, WblistListRef } from './wblist-store.ts';

/** An account or address ready to store: canonical text and the priority a new row gets. */
export interface WblistValue {
  /** Trimmed, lower-cased, IPs and networks canonical. */
  readonly value: string;
  /** `MAILADDR_PRIORITIES` of its form. */
  readonly priority: number;
}

/** A checked {@link WblistListRef} without the list. */
export interface ParsedWblistAccountRef {
  /** The local account. */
  readonly account: WblistValue;
  /** The direction. */
  readonly direction: WblistDirection;
}

/** A checked {@link WblistListRef}. */
export interface ParsedWblistListRef extends ParsedWblistAccountRef {
  /** The list. */
  readonly list: WblistList;
}

/** A checked {@link WblistChange}. */
export interface ParsedWblistChange extends ParsedWblistListRef {
  /** The addresses, canonical, duplicates removed, in input order. */
  readonly addresses: readonly WblistValue[];
}

function wblistValue(value: string): WblistValue {
  if (typeof value !== 'string') {
    throw new PolicydError('POLICYD_ERR_INVALID_ACCOUNT', `Invalid account ${String(value)}: not a string`, {
      value,
    });
  }
  const parsed = parseAccount(value);
  return { value: parsed.account, priority: MAILADDR_PRIORITIES[parsed.type] };
}

/**
 * Check the account and direction of an admin call.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` for an invalid account, `POLICYD_ERR_INVALID_OPTION` for
 *   an unknown direction
 */
export function parseWblistAccountRef(ref: Omit<WblistListRef, 'list'>): ParsedWblistAccountRef {
  if (ref.direction !== 'inbound' && ref.direction !== 'outbound') {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `direction must be 'inbound' or 'outbound', got ${String(ref.direction)}`,
      { value: ref.direction },
    );
  }
  return { account: wblistValue(ref.account), direction: ref.direction };
}

/**
 * Check account, direction and list of an admin call.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` for an invalid account, `POLICYD_ERR_INVALID_OPTION` for
 *   an unknown direction or list
 */
export function parseWblistListRef(ref: WblistListRef): ParsedWblistListRef {
  const parsed = parseWblistAccountRef(ref);
  if (ref.list !== 'whitelist' && ref.list !== 'blacklist') {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `list must be 'whitelist' or 'blacklist', got ${String(ref.list)}`,
      { value: ref.list },
    );
  }
  return { ...parsed, list: ref.list };
}

/**
 * Check an add/remove call: every value must be a valid account form (any form iRedAPD stores in `mailaddr`:
 * address, `user@*`, domain forms, IP, wildcard IPv4, network, `@ip`, `@.`).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming the first invalid account or address
 */
export function parseWblistChange(change: WblistChange): ParsedWblistChange {
  const ref = parseWblistListRef(change);
  const seen = new Set<string>();
  const addresses: WblistValue[] = [];
  for (const address of change.addresses) {
    const parsed = wblistValue(address);
    if (seen.has(parsed.value)) continue;
    seen.add(parsed.value);
    addresses.push(parsed);
  }
  return { ...ref, addresses };
}

/** The `wb` letter of a list: `W` or `B`. */
export function wbLetter(list: WblistList): 'W' | 'B' {
  return list === 'whitelist' ? 'W' : 'B';
}

/** The list a raw `wb` value stands for: `W` → whitelist, `B` → blacklist, anything else → `undefined`. */
export function wblistOf(wb: string): WblistList | undefined {
  return wb === 'W' ? 'whitelist' : wb === 'B' ? 'blacklist' : undefined;
}
