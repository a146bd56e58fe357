/**
 * The settings of every side of a message in one `findSettings` call, with the alias-domain look-up issued
 * concurrently; a second call only when a user's domain turns out to be an alias domain.
 */

import type { DomainInfo, DomainStore, ThrottleKind, ThrottleSetting, ThrottleStore } from '@policyd/core';
import { aliasCandidates, aliasLookupDomain, userCandidates } from './candidates.ts';

/** One side to look up. */
export interface SideQuery {
  /** Its kind. */
  readonly kind: ThrottleKind;
  /** The throttled user, `''` when none. */
  readonly user: string;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The store's order: priority desc, account by UTF-16 code units, id. */
function byPrecedence(a: ThrottleSetting, b: ThrottleSetting): number {
  return b.priority - a.priority || byText(a.account, b.account) || a.id - b.id;
}

const NO_DOMAINS: ReadonlyMap<string, DomainInfo> = new Map();

/**
 * The matching settings of each side, in precedence order.
 *
 * @param clientAccounts - the candidates derived from the client (same for every side)
 */
export async function findSideSettings(
  store: ThrottleStore,
  domains: DomainStore | undefined,
  sides: readonly SideQuery[],
  clientAccounts: readonly string[],
): Promise<ThrottleSetting[][]> {
  const accounts = sides.map((side) => [...clientAccounts, ...userCandidates(side.user)]);
  const lookup = [
    ...new Set(sides.map((s) => aliasLookupDomain(s.user)).filter((d): d is string => d !== undefined)),
  ];
  const [found, infos] = await Promise.all([
    store.findSettings(sides.map((side, i) => ({ kind: side.kind, accounts: accounts[i] ?? [] }))),
    domains === undefined || lookup.length === 0 ? NO_DOMAINS : domains.lookupDomains(lookup),
  ]);
  const results = found.map((list) => [...list]);
  const extra = sides.map((side, i) => {
    const domain = aliasLookupDomain(side.user);
    const target = domain === undefined ? undefined : infos.get(domain.toLowerCase())?.aliasTarget;
    if (target === undefined) return [];
    const known = new Set(accounts[i]);
    return aliasCandidates(side.user, target).filter((a) => !known.has(a));
  });
  const aliased = sides
    .map((side, i) => ({ side, i, accounts: extra[i] ?? [] }))
    .filter((q) => q.accounts.length);
  if (aliased.length === 0) return results;
  const more = await store.findSettings(aliased.map((q) => ({ kind: q.side.kind, accounts: q.accounts })));
  aliased.forEach((q, n) => {
    const merged = new Map<number, ThrottleSetting>();
    for (const s of [...(results[q.i] ?? []), ...(more[n] ?? [])]) merged.set(s.id, s);
    results[q.i] = [...merged.values()].sort(byPrecedence);
  });
  return results;
}
