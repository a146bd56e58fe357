/**
 * The admin API of the white/blacklists: what iRedAPD's `tools/wblist_admin.py` does (add, delete, delete all,
 * list), typed, over a `WblistStore`. Values are checked before anything is written, and an error names the
 * value; the CLI maps its flags one to one onto these calls.
 */

import {
  type AccountType,
  PolicydError,
  parseAccount,
  type WblistDirection,
  type WblistEntry,
  type WblistList,
  type WblistStore,
} from '@policyd/core';

/** Forms a local account that owns lists can take: `user@domain`, `@domain`, `@.domain`, `@.tld`, `@.`. */
export const WBLIST_ACCOUNT_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall',
]);

/**
 * Forms an inbound entry (a sender) can take: an address, `user@*`, `@domain`, `@.domain`, `@.tld`, `@.`, an
 * IPv4 or IPv6 address, a wildcard IPv4 address, or an IPv4 or IPv6 network.
 */
export const WBLIST_SENDER_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'wildcard_addr',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall',
  'ip',
  'wildcard_ip',
  'cidr',
]);

/**
 * Forms an outbound entry (a recipient) can take: an address, `@domain`, `@.domain`, `@.tld`, `@.`. Recipients
 * are matched by these forms only, so IPs or `user@*` there could never match.
 */
export const WBLIST_RECIPIENT_TYPES: readonly AccountType[] = Object.freeze([
  'email',
  'domain',
  'subdomain',
  'top_level_domain',
  'catchall',
]);

/** Which list of which account: the CLI's `--account`, `--outbound` and `--whitelist` / `--blacklist`. */
export interface WblistAdminTarget {
  /** The local account (`--account`). Default `@.`: the server-wide lists. */
  readonly account?: string;
  /** `'outbound'` for `--outbound` (lists of recipients of an authenticated sender). Default `'inbound'`. */
  readonly direction?: WblistDirection;
  /** `--whitelist` or `--blacklist`. */
  readonly list: WblistList;
}

/** Entries to add or delete: the CLI's remaining arguments. */
export interface WblistAdminChange extends WblistAdminTarget {
  /** Senders (inbound) or recipients (outbound); at least one. Case and surrounding spaces do not matter. */
  readonly addresses: readonly string[];
}

/** What to list: {@link WblistAdminTarget} with an optional list. */
export interface WblistAdminListQuery {
  /** The local account. Default `@.`. */
  readonly account?: string;
  /** Default `'inbound'`. */
  readonly direction?: WblistDirection;
  /** Only this list; both, and rows with a `wb` value other than `W`/`B` (shown as `ignored`), when omitted. */
  readonly list?: WblistList;
}

/** The outcome of {@link WblistAdmin.add} or {@link WblistAdmin.delete}. */
export interface WblistAdminChangeResult {
  /** The account, canonical (lower case). */
  readonly account: string;
  /** The direction. */
  readonly direction: WblistDirection;
  /** The list. */
  readonly list: WblistList;
  /** Every address given, canonical (lower case, IPs and networks canonical), without duplicates. */
  readonly addresses: readonly string[];
  /** The addresses that were added (or moved from the other list) or deleted. */
  readonly changed: readonly string[];
  /** The others: already on the list (add), or not on it (delete). */
  readonly unchanged: readonly string[];
}

/** The outcome of {@link WblistAdmin.deleteAll}. */
export interface WblistAdminDeleteAllResult {
  /** The account, canonical. */
  readonly account: string;
  /** The direction. */
  readonly direction: WblistDirection;
  /** The list emptied. */
  readonly list: WblistList;
  /** How many entries were deleted. */
  readonly deleted: number;
}

/** The outcome of {@link WblistAdmin.list}. */
export interface WblistAdminListing {
  /** The account, canonical. */
  readonly account: string;
  /** The direction. */
  readonly direction: WblistDirection;
  /** The entries as stored, ordered by address. */
  readonly entries: readonly WblistEntry[];
}

/** Typed `wblist_admin.py`. Every method validates first and writes nothing when a value is invalid. */
export interface WblistAdmin {
  /**
   * `--add`: put addresses on a list. An address on the other list of the same account and direction moves
   * (as in iRedAPD); one already on this list is left alone (idempotent). Missing account and address rows are
   * created with iRedAPD's priorities; existing rows keep theirs.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` naming an account or address not of an accepted form
   *   ({@link WBLIST_ACCOUNT_TYPES}; {@link WBLIST_SENDER_TYPES} inbound, {@link WBLIST_RECIPIENT_TYPES}
   *   outbound); `POLICYD_ERR_INVALID_OPTION` for a bad direction or list, or no address
   */
  add(change: WblistAdminChange): Promise<WblistAdminChangeResult>;
  /**
   * `--delete`: take addresses off a list (an entry on the other list stays). Accepts every stored form, so
   * entries written by other tools can be removed too. Never creates rows (iRedAPD created the account: B35).
   *
   * @throws PolicydError as {@link WblistAdmin.add}, except that any valid address form is accepted
   */
  delete(change: WblistAdminChange): Promise<WblistAdminChangeResult>;
  /**
   * `--delete-all`: empty one list of an account in one direction.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` for an invalid account, `POLICYD_ERR_INVALID_OPTION` for
   *   a bad direction or list
   */
  deleteAll(target: WblistAdminTarget): Promise<WblistAdminDeleteAllResult>;
  /**
   * `--list`: the entries of an account in one direction, as stored.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` for an invalid account, `POLICYD_ERR_INVALID_OPTION` for
   *   a bad direction or list
   */
  list(query?: WblistAdminListQuery): Promise<WblistAdminListing>;
}

function invalidOption(name: string, expected: string, value: unknown): never {
  throw new PolicydError(
    'POLICYD_ERR_INVALID_OPTION',
    `${name} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`,
    { value },
  );
}

function direction(value: WblistDirection | undefined): WblistDirection {
  if (value === undefined) return 'inbound';
  if (value !== 'inbound' && value !== 'outbound')
    invalidOption('direction', "'inbound' or 'outbound'", value);
  return value;
}

function list(value: WblistList | undefined): WblistList {
  if (value !== 'whitelist' && value !== 'blacklist')
    invalidOption('list', "'whitelist' or 'blacklist'", value);
  return value;
}

function account(value: string | undefined): string {
  return parseAccount(value ?? '@.', WBLIST_ACCOUNT_TYPES).account;
}

function addresses(values: readonly string[], allowed?: readonly AccountType[]): string[] {
  if (!Array.isArray(values) || values.length === 0) {
    invalidOption('addresses', 'a non-empty array of senders or recipients', values);
  }
  const unique = new Set<string>();
  for (const value of values) unique.add(parseAccount(value, allowed).account);
  return [...unique];
}

/**
 * The admin API over a wblist store.
 *
 * @example
 * ```ts
 * const admin = createWblistAdmin(stores.wblist);
 * // wblist_admin.py --account user@example.com --add --blacklist 192.0.2.66 @spam.example
 * await admin.add({ account: 'user@example.com', list: 'blacklist', addresses: ['192.0.2.66', '@spam.example'] });
 * // wblist_admin.py --list --whitelist
 * const { entries } = await admin.list({ list: 'whitelist' });
 * ```
 */
export function createWblistAdmin(store: WblistStore): WblistAdmin {
  async function change(input: WblistAdminChange, adding: boolean): Promise<WblistAdminChangeResult> {
    const ref = {
      account: account(input.account),
      direction: direction(input.direction),
      list: list(input.list),
    };
    const allowed = adding
      ? ref.direction === 'inbound'
        ? WBLIST_SENDER_TYPES
        : WBLIST_RECIPIENT_TYPES
      : undefined;
    const all = addresses(input.addresses, allowed);
    const changed = adding
      ? await store.add({ ...ref, addresses: all })
      : await store.remove({ ...ref, addresses: all });
    const done = new Set(changed);
    return { ...ref, addresses: all, changed, unchanged: all.filter((a) => !done.has(a)) };
  }

  return {
    add: (input) => change(input, true),
    delete: (input) => change(input, false),
    async deleteAll(target) {
      const ref = {
        account: account(target.account),
        direction: direction(target.direction),
        list: list(target.list),
      };
      return { ...ref, deleted: await store.removeAll(ref) };
    },
    async list(query = {}) {
      const ref = { account: account(query.account), direction: direction(query.direction) };
      const only = query.list === undefined ? undefined : list(query.list);
      const entries = await store.list(ref);
      return { ...ref, entries: only === undefined ? entries : entries.filter((e) => e.list === only) };
    },
  };
}
