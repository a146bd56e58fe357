/**
 * From the matching list rows to a decision, in iRedAPD's precedence: the outbound stage first (its blacklist is
 * final, its whitelist only ends the stage), then the inbound stage (whitelist `OK`, blacklist rejected).
 * The store returns the rows already ordered, so the first row of each stage decides. Pure, no I/O.
 */

import { Decision, type WblistLookupResult, type WblistMatch } from '@policyd/core';

/** iRedAPD's blacklist reply, `REJECT Blacklisted`, and its `WBLIST_DISCARD_INSTEAD_OF_REJECT` variant. */
export const BLACKLISTED_TEXT = 'Blacklisted';
/** iRedAPD's `DISCARD` text for blacklisted mail when discarding instead of rejecting. */
export const DISCARD_TEXT = 'Policy discard';

/**
 * How a row is shown in a decision's reason, always from the sender's side to the recipient's:
 * `inbound-whitelist: @example.com → user@local.test`, `outbound-blacklist: user@local.test → @example.org`.
 * A network matched by the client IP is marked.
 */
function describe(stage: 'inbound' | 'outbound', match: WblistMatch): string {
  const client = match.byNetwork ? ' (client network)' : '';
  return stage === 'inbound'
    ? `inbound-${match.list}: ${match.address}${client} → ${match.account}`
    : `outbound-${match.list}: ${match.account}${client} → ${match.address}`;
}

function blacklisted(reason: string, discard: boolean): Decision {
  return discard ? Decision.discard(DISCARD_TEXT, reason) : Decision.reject(BLACKLISTED_TEXT, reason);
}

/**
 * The decision for a look-up result.
 *
 * @param result - the store's answer, each stage in precedence order
 * @param discard - answer `DISCARD Policy discard` instead of `REJECT Blacklisted`
 * @param note - why a stage did not run, added to a DUNNO's reason
 */
export function decide(result: WblistLookupResult, discard: boolean, note?: string): Decision {
  const outbound = result.outbound[0];
  if (outbound?.list === 'blacklist') return blacklisted(describe('outbound', outbound), discard);
  const inbound = result.inbound[0];
  if (inbound !== undefined) {
    const reason = describe('inbound', inbound);
    return inbound.list === 'whitelist' ? Decision.ok(reason) : blacklisted(reason, discard);
  }
  const parts = outbound === undefined ? ['no matching entry'] : [describe('outbound', outbound)];
  if (note !== undefined) parts.push(note);
  return Decision.dunno(parts.join('; '));
}
