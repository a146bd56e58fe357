/**
 * The greylisting admin API: what iRedAPD's `greylisting_admin.py` does (list, enable, disable and delete
 * settings for `--from`/`--to` accounts, defaulting to `@.`), plus whitelists, whitelist domains and the
 * refresh, typed, over a {@link GreylistStore}. A CLI is a thin layer over it.
 *
 * Values are trimmed, lower-cased and canonicalised (iRedAPD stored them as typed, B35); an invalid one is
 * rejected with `POLICYD_ERR_INVALID_ACCOUNT` naming the field and the value, and nothing is written.
 */

import { Resolver } from 'node:dns/promises';
import {
  type DnsResolver,
  GREYLIST_ACCOUNT_TYPES,
  GREYLIST_SENDER_TYPES,
  type GreylistDomainRemoval,
  type GreylistSetting,
  type GreylistStore,
  type GreylistWhitelistEntry,
  type GreylistWhitelistSource,
  PolicydError,
  parseAccount,
  parseWhitelistDomain,
} from '@policyd/core';
import { DEFAULT_WHITELIST_DOMAINS, seedWhitelistDomains } from './default-domains.ts';
import { type RefreshOptions, type RefreshSummary, refreshWhitelistDomains } from './refresh.ts';

/** Sender and local account of a setting, as `greylisting_admin.py --from … --to …`. */
export interface GreylistingTarget {
  /** Sender: address, `@domain`, `@.domain`, `@.tld`, `@.`, IP, wildcard IPv4 or network. Default `@.`. */
  readonly from?: string;
  /** Local account: `user@domain`, `@domain`, `@.domain`, `@.tld` or `@.`. Default `@.`. */
  readonly to?: string;
}

/** A whitelist entry to add or remove. */
export interface WhitelistTarget {
  /** Whitelisted sender: address, `@domain`, `@.domain`, `@.tld`, `@.`, IP, wildcard IPv4 or network. */
  readonly from: string;
  /** Local account it applies to. Default `@.` (everyone). */
  readonly to?: string;
}

/** Options of {@link createGreylistingAdmin}. */
export interface GreylistingAdminOptions {
  /** The greylisting store. */
  readonly store: GreylistStore;
  /** DNS for the refresh. Default: `new Resolver({ timeout: 3000, tries: 2 })` from `node:dns/promises`. */
  readonly dns?: DnsResolver;
}

/** Options of {@link GreylistingAdmin.refresh}: {@link RefreshOptions} without the store and DNS. */
export type AdminRefreshOptions = Omit<RefreshOptions, 'store' | 'dns'>;

/** Typed greylisting administration. */
export interface GreylistingAdmin {
  /** Settings in precedence order; with `account`, only that account's (`--list --to`). */
  listSettings(filter?: { readonly account?: string }): Promise<readonly GreylistSetting[]>;
  /** Enable greylisting for mail from `from` to `to` (`--enable`). @returns the stored row */
  enable(target?: GreylistingTarget & { readonly comment?: string }): Promise<GreylistSetting>;
  /** Disable greylisting for mail from `from` to `to` (`--disable`). @returns the stored row */
  disable(target?: GreylistingTarget & { readonly comment?: string }): Promise<GreylistSetting>;
  /** Delete the setting of `from` → `to` (`--delete`). @returns whether it existed */
  delete(target?: GreylistingTarget): Promise<boolean>;
  /** Whitelist a sender for an account (`--add-whitelist`). @returns whether it was new */
  addWhitelist(entry: WhitelistTarget & { readonly comment?: string }): Promise<boolean>;
  /** Remove a manual whitelist entry. @returns whether it existed */
  removeWhitelist(entry: WhitelistTarget): Promise<boolean>;
  /**
   * Whitelist entries, manual first, then generated (`--list-whitelists`); filtered by exact account and/or
   * source when given. iRedAPD's `--to @.` default lists everything: call it without `account`.
   */
  listWhitelists(filter?: {
    readonly account?: string;
    readonly source?: GreylistWhitelistSource;
  }): Promise<readonly GreylistWhitelistEntry[]>;
  /**
   * Add a whitelist domain (`--whitelist-domain --from @example.com`); `example.com`, `@example.com` and
   * `@.example.com` all mean `example.com`. Its networks are whitelisted by the next refresh.
   * @returns whether it was new
   */
  addWhitelistDomain(domain: string): Promise<boolean>;
  /** Remove a whitelist domain and its generated rows (`--remove-whitelist-domain`). */
  removeWhitelistDomain(domain: string): Promise<GreylistDomainRemoval>;
  /** The whitelist domains, sorted (`--list-whitelist-domains`). */
  listWhitelistDomains(): Promise<readonly string[]>;
  /** Add the shipped {@link DEFAULT_WHITELIST_DOMAINS}. @returns the domains that were new */
  seedDefaultWhitelistDomains(): Promise<string[]>;
  /** Run the whitelist-domain refresh (`spf_to_greylist_whitelists.py`). */
  refresh(options?: AdminRefreshOptions): Promise<RefreshSummary>;
}

function checked(field: 'from' | 'to', value: unknown, allowed: typeof GREYLIST_SENDER_TYPES): string {
  try {
    return parseAccount(value as string, allowed).account;
  } catch (err) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_ACCOUNT',
      `Invalid ${field} ${JSON.stringify(value)}: ${(err as Error).message}`,
      { value, cause: err },
    );
  }
}

function pair(from: unknown = '@.', to: unknown = '@.'): { account: string; sender: string } {
  return {
    sender: checked('from', from, GREYLIST_SENDER_TYPES),
    account: checked('to', to, GREYLIST_ACCOUNT_TYPES),
  };
}

function domainName(value: string): string {
  const text = typeof value === 'string' ? value.trim() : value;
  const bare = typeof text === 'string' ? text.replace(/^@\.?/, '') : text;
  try {
    return parseWhitelistDomain(bare);
  } catch (err) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_ACCOUNT',
      `Invalid whitelist domain ${JSON.stringify(value)}: expected example.com, @example.com or @.example.com`,
      { value, cause: err },
    );
  }
}

/**
 * Create the admin API over a store.
 *
 * @example
 * ```ts
 * const admin = createGreylistingAdmin({ store: storage.greylist });
 * await admin.enable({ to: '@example.com' });                        // greylist everything to example.com
 * await admin.disable({ from: '@partner.example', to: '@example.com' });
 * await admin.addWhitelist({ from: '192.0.2.0/24' });                 // never greylist that network
 * ```
 */
export function createGreylistingAdmin(options: GreylistingAdminOptions): GreylistingAdmin {
  const { store } = options;
  let dns = options.dns;
  const resolver = (): DnsResolver => {
    dns ??= new Resolver({ timeout: 3_000, tries: 2 });
    return dns;
  };
  const setActive =
    (active: boolean) =>
    async (target: GreylistingTarget & { readonly comment?: string } = {}) =>
      store.setSetting({
        ...pair(target.from, target.to),
        active,
        ...(target.comment === undefined ? {} : { comment: target.comment }),
      });

  return {
    listSettings: async (filter = {}) =>
      store.listSettings(
        filter.account === undefined
          ? {}
          : { account: checked('to', filter.account, GREYLIST_ACCOUNT_TYPES) },
      ),
    enable: setActive(true),
    disable: setActive(false),
    delete: async (target = {}) => store.deleteSetting(pair(target.from, target.to)),
    addWhitelist: async (entry) =>
      store.addWhitelist({
        ...pair(entry.from, entry.to),
        ...(entry.comment === undefined ? {} : { comment: entry.comment }),
      }),
    removeWhitelist: async (entry) => store.removeWhitelist(pair(entry.from, entry.to)),
    listWhitelists: async (filter = {}) =>
      store.listWhitelists({
        ...(filter.account === undefined
          ? {}
          : { account: checked('to', filter.account, GREYLIST_ACCOUNT_TYPES) }),
        ...(filter.source === undefined ? {} : { source: filter.source }),
      }),
    addWhitelistDomain: async (domain) => store.addWhitelistDomain(domainName(domain)),
    removeWhitelistDomain: async (domain) => store.removeWhitelistDomain(domainName(domain)),
    listWhitelistDomains: async () => store.listWhitelistDomains(),
    seedDefaultWhitelistDomains: async () => seedWhitelistDomains(store, DEFAULT_WHITELIST_DOMAINS),
    refresh: async (refreshOptions = {}) =>
      refreshWhitelistDomains({ ...refreshOptions, store, dns: resolver() }),
  };
}
