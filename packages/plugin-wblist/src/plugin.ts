/**
 * The `amavisd_wblist` plugin: iRedAPD's per-user, per-domain and server-wide white/blacklists, inbound and
 * outbound, decided at RCPT with at most two store calls.
 */

import { Decision, type DomainInfo, type PolicyPlugin, type PolicyRequest } from '@policyd/core';
import { cacheKey, createDecisionCache, type DecisionCache } from './cache.ts';
import { decide } from './decide.ts';
import { type ResolvedWblistOptions, resolveWblistOptions, type WblistOptions } from './options.ts';
import { domainsToLookUp, planLookup, skipReason, type WblistSubject, wblistSubject } from './plan.ts';

/** The plugin's name, as in iRedAPD's `plugins` setting. */
export const WBLIST_PLUGIN_NAME = 'amavisd_wblist';

/** The plugin's priority, iRedAPD's: after greylisting (80) and throttle (60). */
export const WBLIST_PLUGIN_PRIORITY = 40;

const NO_DOMAINS: ReadonlyMap<string, DomainInfo> = new Map();

async function evaluate(subject: WblistSubject, options: ResolvedWblistOptions): Promise<Decision> {
  const wanted = domainsToLookUp(subject);
  const domains = wanted.length === 0 ? NO_DOMAINS : await options.domains.lookupDomains(wanted);
  const plan = planLookup(subject, domains, options);
  if (plan.query === undefined) return Decision.dunno(plan.note);
  const result = await options.store.lookup(plan.query);
  return decide(result, options.discardInsteadOfReject, plan.note);
}

/** The same decision, its reason marked as coming from the cache. */
function cachedCopy(decision: Decision): Decision {
  return Object.freeze({ ...decision, reason: `${decision.reason ?? ''} (cached)` });
}

async function evaluateAndCache(
  subject: WblistSubject,
  options: ResolvedWblistOptions,
  cache: DecisionCache,
  key: string,
  now: () => number,
): Promise<Decision> {
  const decision = await evaluate(subject, options);
  cache.set(key, cachedCopy(decision), now());
  return decision;
}

/**
 * iRedAPD's `amavisd_wblist` plugin (priority 40, RCPT): white- and blacklists from iRedMail's `amavisd`
 * database, with iRedAPD's decisions and reply strings.
 *
 * - Inbound: the recipient's accounts (`user@domain`, `@domain`, `@.domain`, `@.tld`, `@.`) list senders. The
 *   most specific recipient account with a matching entry decides, then its most specific sender entry
 *   (by stored priority; entries matched through a client network come last). Whitelist → `OK`, blacklist →
 *   `REJECT Blacklisted` (or `DISCARD Policy discard`).
 * - Outbound (authenticated clients): the login's accounts list recipients; a blacklisted recipient is
 *   rejected; a whitelisted one ends the outbound check. Authenticated mail goes through the recipient's
 *   inbound lists only when the recipient is local.
 * - Null sender and mail to oneself: `DUNNO`, no look-up.
 *
 * Each decision costs at most two store calls (`lookupDomains`, then one `lookup`), none on a cache hit. A store
 * failure is thrown, so the policy's error policy applies (`skip` answers DUNNO, as iRedAPD does).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the option, for invalid options
 *
 * @example
 * ```ts
 * const stores = createMemoryStores();
 * const policy = await createPolicy({ plugins: [wblist({ store: stores.wblist, domains: stores.domains })] });
 * ```
 */
export function wblist(options: WblistOptions): PolicyPlugin {
  const resolved = resolveWblistOptions(options);
  const cache =
    resolved.cache === undefined
      ? undefined
      : createDecisionCache(resolved.cache.maxEntries, resolved.cache.ttlMs);
  return {
    name: WBLIST_PLUGIN_NAME,
    priority: WBLIST_PLUGIN_PRIORITY,
    states: ['RCPT'],
    check(request: PolicyRequest, ctx): Decision | Promise<Decision> {
      const subject = wblistSubject(request);
      const skip = skipReason(subject);
      if (skip !== undefined) return Decision.dunno(skip);
      if (cache === undefined) return evaluate(subject, resolved);
      const key = cacheKey(subject);
      return cache.get(key, ctx.now()) ?? evaluateAndCache(subject, resolved, cache, key, () => ctx.now());
    },
  };
}
