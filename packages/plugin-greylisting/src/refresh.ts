/**
 * The whitelist-domain refresh, iRedAPD's `spf_to_greylist_whitelists.py` as a function for a cron job or a
 * timer: expand each whitelist domain's SPF record (or MX hosts) to networks and store them as that domain's
 * generated whitelist rows, replacing the old ones atomically per domain and never touching manual rows.
 *
 * Differences from iRedAPD's tool (B22, B23): each domain is expanded on its own, so a domain that another
 * one includes still gets its own rows; a DNS failure keeps the domain's old rows instead of storing a partial
 * list; `submit` stores the given domains even when nothing is found; `ptr` never becomes a sender-domain
 * whitelist.
 */

import {
  type DnsResolver,
  GENERATED_WHITELIST_ACCOUNT,
  type GreylistStore,
  normalizeIp,
  PolicydError,
  parseNetwork,
  parseWhitelistDomain,
} from '@policyd/core';
import { expandSpf, type SpfExpansion, type SpfExpansionSource } from './spf-expand.ts';

/** Options of {@link refreshWhitelistDomains}. */
export interface RefreshOptions {
  /** Where the whitelist domains and generated rows live. */
  readonly store: GreylistStore;
  /** DNS to query. */
  readonly dns: DnsResolver;
  /** Domains to refresh (bare names). Default: every domain of `greylisting_whitelist_domains`. */
  readonly domains?: readonly string[];
  /**
   * Also add `domains` to the whitelist-domain list (the tool's `--submit`), before expanding them, so they
   * are stored even when nothing is found. Requires `domains`. Default `false`.
   */
  readonly submit?: boolean;
  /** Deadline of each DNS query in milliseconds. Default 3000. */
  readonly timeoutMs?: number;
  /** DNS-querying SPF terms allowed per domain. Default 10 (RFC 7208). */
  readonly maxLookups?: number;
  /** Void look-ups allowed per domain. Default 2 (RFC 7208). */
  readonly maxVoidLookups?: number;
  /** Domains expanded at the same time. Default 4. */
  readonly concurrency?: number;
  /** Stops the refresh: expansions still running fail, and their domains keep their rows. */
  readonly signal?: AbortSignal;
}

/** What happened to one domain. */
export type DomainRefreshStatus = 'updated' | 'unchanged' | 'failed';

/** A value found for a domain but already generated for another one (it is stored once, under the first). */
export interface SharedNetwork {
  /** The address or network. */
  readonly value: string;
  /** The domain (or row comment) that owns it. */
  readonly owner: string;
}

/** The refresh of one domain. */
export interface DomainRefresh {
  /** The domain. */
  readonly domain: string;
  /** `updated`: rows changed; `unchanged`: same rows; `failed`: DNS trouble, old rows kept. */
  readonly status: DomainRefreshStatus;
  /** Where the networks came from. */
  readonly source: SpfExpansionSource;
  /** Values stored that the domain did not have. */
  readonly added: readonly string[];
  /** Values the domain had and no longer has. */
  readonly removed: readonly string[];
  /** Values the domain had and still has. */
  readonly unchanged: readonly string[];
  /** Values found but owned by another domain. */
  readonly shared: readonly SharedNetwork[];
  /** Tracking rows deleted because their client is one of the stored values. */
  readonly trackingDeleted: number;
  /** SPF terms that cost a DNS look-up. */
  readonly lookups: number;
  /** Look-ups that found nothing. */
  readonly voidLookups: number;
  /** What the expansion skipped and why. */
  readonly notes: readonly string[];
  /** Why the domain failed (its rows were left as they were). */
  readonly failure?: string;
}

/** Everything {@link refreshWhitelistDomains} did, for the cron output. */
export interface RefreshSummary {
  /** One entry per domain, in the order processed. */
  readonly domains: readonly DomainRefresh[];
  /** Domains newly added to the whitelist-domain list by `submit`. */
  readonly submitted: readonly string[];
  /** Values added, over all domains. */
  readonly added: number;
  /** Values removed, over all domains. */
  readonly removed: number;
  /** Values kept, over all domains. */
  readonly unchanged: number;
  /** Domains that failed. */
  readonly failed: number;
  /** Tracking rows deleted, over all domains. */
  readonly trackingDeleted: number;
}

const AUTO_UPDATE = /^AUTO-UPDATE: (.+)$/;

function invalid(name: string, value: unknown, expected: string): never {
  throw new PolicydError(
    'POLICYD_ERR_INVALID_OPTION',
    `refresh option ${name} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`,
    { value },
  );
}

function integer(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    invalid(name, value, `an integer ≥ ${min}`);
  }
  return value;
}

/** The canonical form of a stored value, so old rows compare with new values whatever their spelling. */
function canonical(value: string): string {
  const text = value.trim().toLowerCase();
  return normalizeIp(text) ?? parseNetwork(text)?.cidr ?? text;
}

async function inPool<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

async function domainsToRefresh(
  options: RefreshOptions,
): Promise<{ domains: string[]; submitted: string[] }> {
  if (options.domains === undefined) {
    if (options.submit === true) invalid('submit', true, 'used together with domains');
    return { domains: [...(await options.store.listWhitelistDomains())], submitted: [] };
  }
  if (!Array.isArray(options.domains)) invalid('domains', options.domains, 'a list of domain names');
  const domains = [...new Set(options.domains.map((d) => parseWhitelistDomain(d)))];
  const submitted: string[] = [];
  if (options.submit === true) {
    for (const domain of domains) if (await options.store.addWhitelistDomain(domain)) submitted.push(domain);
  }
  return { domains, submitted };
}

/**
 * Refresh the generated whitelist rows of the whitelist domains.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming a given domain that is not a domain name;
 * `POLICYD_ERR_INVALID_OPTION` for a bad option; `POLICYD_ERR_STORE` when the store fails
 *
 * @example
 * ```ts
 * const summary = await refreshWhitelistDomains({ store: storage.greylist, dns: new Resolver() });
 * console.log(formatRefreshSummary(summary));
 * ```
 */
export async function refreshWhitelistDomains(options: RefreshOptions): Promise<RefreshSummary> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) invalid('timeoutMs', timeoutMs, 'a number > 0');
  const maxLookups = integer('maxLookups', options.maxLookups, 10, 1);
  const maxVoidLookups = integer('maxVoidLookups', options.maxVoidLookups, 2, 0);
  const concurrency = integer('concurrency', options.concurrency, 4, 1);
  const { store } = options;
  const { domains, submitted } = await domainsToRefresh(options);

  // Who owns each generated value, and what each domain had, before this run.
  const owner = new Map<string, string>();
  const before = new Map<string, Set<string>>();
  for (const row of await store.listWhitelists()) {
    const value = canonical(row.sender);
    const domain = AUTO_UPDATE.exec(row.comment)?.[1];
    if (domain !== undefined) {
      const set = before.get(domain) ?? new Set<string>();
      set.add(value);
      before.set(domain, set);
    }
    if (row.source === 'spf' && row.account === GENERATED_WHITELIST_ACCOUNT && !owner.has(value)) {
      owner.set(value, domain ?? `entry "${row.comment}"`);
    }
  }

  const expansions = await inPool(domains, concurrency, (domain) =>
    expandSpf(domain, {
      dns: options.dns,
      timeoutMs,
      maxLookups,
      maxVoidLookups,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }),
  );

  const results: DomainRefresh[] = [];
  // Sequential, in input order: a value found for two domains is stored under the first, as the store does.
  for (const expansion of expansions) results.push(await storeExpansion(store, expansion, owner, before));
  const sum = (pick: (r: DomainRefresh) => number): number => results.reduce((n, r) => n + pick(r), 0);
  return {
    domains: results,
    submitted,
    added: sum((r) => r.added.length),
    removed: sum((r) => r.removed.length),
    unchanged: sum((r) => r.unchanged.length),
    failed: results.filter((r) => r.status === 'failed').length,
    trackingDeleted: sum((r) => r.trackingDeleted),
  };
}

async function storeExpansion(
  store: GreylistStore,
  expansion: SpfExpansion,
  owner: Map<string, string>,
  before: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<DomainRefresh> {
  const { domain } = expansion;
  const common = {
    domain,
    source: expansion.source,
    lookups: expansion.lookups,
    voidLookups: expansion.voidLookups,
    notes: expansion.notes,
  };
  const old = before.get(domain) ?? new Set<string>();
  if (expansion.failure !== undefined) {
    return {
      ...common,
      status: 'failed',
      added: [],
      removed: [],
      unchanged: [...old],
      shared: [],
      trackingDeleted: 0,
      failure: expansion.failure,
    };
  }
  for (const [value, by] of owner) if (by === domain) owner.delete(value);
  const added: string[] = [];
  const unchanged: string[] = [];
  const shared: SharedNetwork[] = [];
  for (const value of expansion.networks) {
    const by = owner.get(value);
    if (by !== undefined) {
      shared.push({ value, owner: by });
      continue;
    }
    owner.set(value, domain);
    (old.has(value) ? unchanged : added).push(value);
  }
  const kept = new Set(unchanged);
  const removed = [...old].filter((v) => !kept.has(v));
  const replaced = await store.replaceDomainNetworks(domain, expansion.networks);
  return {
    ...common,
    status: added.length === 0 && removed.length === 0 ? 'unchanged' : 'updated',
    added,
    removed,
    unchanged,
    shared,
    trackingDeleted: replaced.trackingDeleted,
  };
}

/**
 * The summary as text for a cron job's output: one line per domain, its notes indented below, then a total.
 *
 * @example
 * ```text
 * * outlook.com: updated (spf, 3 lookups): +2 -1 =38
 * * example.org: FAILED, kept 12 entries: TXT example.org: ETIMEOUT
 * Total: +2 -1 =38, 1 failed, 0 tracking rows deleted
 * ```
 */
export function formatRefreshSummary(summary: RefreshSummary): string {
  const lines: string[] = [];
  for (const domain of summary.submitted) lines.push(`* Added whitelist domain: ${domain}`);
  for (const r of summary.domains) {
    if (r.status === 'failed') {
      lines.push(`* ${r.domain}: FAILED, kept ${r.unchanged.length} entries: ${r.failure ?? ''}`);
    } else {
      const counts = `+${r.added.length} -${r.removed.length} =${r.unchanged.length}`;
      const shared = r.shared.length === 0 ? '' : `, ${r.shared.length} already listed for other domains`;
      lines.push(`* ${r.domain}: ${r.status} (${r.source}, ${r.lookups} lookups): ${counts}${shared}`);
    }
    for (const note of r.notes) lines.push(`    ${note}`);
  }
  if (summary.domains.length === 0) lines.push('* No whitelist domains.');
  lines.push(
    `Total: +${summary.added} -${summary.removed} =${summary.unchanged}, ${summary.failed} failed, ` +
      `${summary.trackingDeleted} tracking rows deleted`,
  );
  return lines.join('\n');
}
