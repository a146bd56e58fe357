/**
 * {@link WblistStore} on iRedMail's amavisd tables: `users` (accounts), `mailaddr` (the other side),
 * `wblist` (inbound: `rid` = users.id, `sid` = mailaddr.id) and `outbound_wblist` (outbound: `rid` =
 * mailaddr.id, `sid` = users.id).
 *
 * Round trips:
 * - `lookup`: **one** statement for both directions (a `UNION ALL` of the inbound and outbound joins, compiled
 *   once per shape). The side that may match by network fetches, besides its `IN (…)` candidates, the rows
 *   whose value contains `/` (`LIKE '%/%'`, correct for every prefix length); those are few, as the other side
 *   is already narrowed by account (inbound) or recipient (outbound). Containment, `wb` (exactly `W`/`B`) and
 *   the order are decided in code.
 * - admin methods: one transaction each (`add`: 6–7 statements, `remove`: 4, `removeAll`: 3, `list` and
 *   `findAccounts`: one statement).
 *
 * `email` columns are binary: values are bound as bytes and compared byte for byte on every backend.
 */

import {
  parseWblistAccountRef,
  parseWblistChange,
  parseWblistListRef,
  sortWblistMatches,
  storedNetworkContains,
  type WblistDirection,
  type WblistMatch,
  type WblistStore,
  wbLetter,
  wblistOf,
} from '@policyd/core';
import type { Knex } from 'knex';
import { binaryValue, chunks, forUpdate, inTransaction, intOf, type SqlDatabase, textOf } from './sql.ts';
import { createStatementCache } from './statement-cache.ts';
import { withStoreErrors } from './store-error.ts';
import { MAILADDR, OUTBOUND_WBLIST, USERS, WBLIST } from './tables.ts';
import { byText } from './text-order.ts';

const U = USERS.col;
const M = MAILADDR.col;

/** The list table of a direction and which of its columns points at the account and at the address. */
interface ListTable {
  readonly name: string;
  /** Column holding `users.id`. */
  readonly account: string;
  /** Column holding `mailaddr.id`. */
  readonly address: string;
  /** Column holding `wb`. */
  readonly wb: string;
}

const LISTS: Readonly<Record<WblistDirection, ListTable>> = {
  inbound: { name: WBLIST.name, account: WBLIST.col.rid, address: WBLIST.col.sid, wb: WBLIST.col.wb },
  outbound: {
    name: OUTBOUND_WBLIST.name,
    account: OUTBOUND_WBLIST.col.sid,
    address: OUTBOUND_WBLIST.col.rid,
    wb: OUTBOUND_WBLIST.col.wb,
  },
};

interface LookupRow {
  readonly dir: string;
  readonly account: unknown;
  readonly account_priority: unknown;
  readonly address: unknown;
  readonly address_priority: unknown;
  readonly wb: unknown;
}

/** Amavisd's `policy_id` for accounts created by the admin API (iRedAPD's tools use 0). */
const NEW_ACCOUNT_POLICY_ID = 0;

/**
 * Create the wblist store on the `amavisd` database.
 *
 * @example
 * ```ts
 * const wblist = createKnexWblistStore({ knex, dialect: 'mysql' });
 * await wblist.add({ account: '@.', direction: 'inbound', list: 'blacklist', addresses: ['192.0.2.66'] });
 * ```
 */
export function createKnexWblistStore(db: SqlDatabase): WblistStore {
  const { knex } = db;
  const bin = binaryValue;
  const statements = createStatementCache(knex, db.dialect);
  const lock = { table: USERS.name, column: U.id };

  /**
   * One direction's part of the look-up statement, with `accounts` and `others` given as statement parameters
   * (their values are bound as bytes).
   */
  function lookupPart(
    direction: WblistDirection,
    accounts: readonly string[],
    others: readonly string[],
    byNetwork: 'account' | 'address' | undefined,
  ): Knex.QueryBuilder {
    const list = LISTS[direction];
    const query = knex({ l: list.name })
      .join({ u: USERS.name }, `u.${U.id}`, `l.${list.account}`)
      .join({ m: MAILADDR.name }, `m.${M.id}`, `l.${list.address}`)
      .select(
        knex.raw(direction === 'inbound' ? `'in' as dir` : `'out' as dir`),
        knex.ref(`u.${U.email}`).as('account'),
        knex.ref(`u.${U.priority}`).as('account_priority'),
        knex.ref(`m.${M.email}`).as('address'),
        knex.ref(`m.${M.priority}`).as('address_priority'),
        knex.ref(`l.${list.wb}`).as('wb'),
      )
      .whereIn(`l.${list.wb}`, ['W', 'B']);
    const networkColumn = byNetwork === 'account' ? `u.${U.email}` : `m.${M.email}`;
    const filterNetworkSide = (exact: readonly string[]) => (q: Knex.QueryBuilder) => {
      q.whereIn(networkColumn, exact);
      if (byNetwork !== undefined) {
        // Rows that may be networks: their value contains '/'. SQLite's LIKE never matches a BLOB.
        if (db.dialect === 'sqlite') q.orWhereRaw('instr(??, ?) > 0', [networkColumn, bin('/')]);
        else q.orWhereRaw('?? like ?', [networkColumn, bin('%/%')]);
      }
    };
    if (byNetwork === 'account') {
      query.whereIn(`m.${M.email}`, others).andWhere(filterNetworkSide(accounts));
    } else if (byNetwork === 'address') {
      query.whereIn(`u.${U.email}`, accounts).andWhere(filterNetworkSide(others));
    } else if (direction === 'inbound') {
      query.whereIn(`u.${U.email}`, accounts).whereIn(`m.${M.email}`, others);
    } else {
      query.whereIn(`m.${M.email}`, others).whereIn(`u.${U.email}`, accounts);
    }
    return query;
  }

  async function accountId(
    trx: Knex.Transaction,
    account: string,
    lockRow: boolean,
  ): Promise<number | undefined> {
    const query = trx(USERS.name).select(U.id).where(U.email, bin(account));
    const rows = (await (lockRow ? forUpdate(db, query) : query)) as { id: unknown }[];
    return rows[0] === undefined ? undefined : intOf(rows[0].id);
  }

  async function addressIds(
    trx: Knex.Transaction,
    addresses: readonly string[],
  ): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (const part of chunks(addresses)) {
      const rows = (await trx(MAILADDR.name).select(M.id, M.email).whereIn(M.email, part.map(bin))) as {
        id: unknown;
        email: unknown;
      }[];
      for (const row of rows) ids.set(textOf(row.email), intOf(row.id));
    }
    return ids;
  }

  /** The account's entries for these address ids: address id → raw wb. */
  async function entriesOf(
    trx: Knex.Transaction,
    list: ListTable,
    account: number,
    addresses: readonly number[] | undefined,
  ): Promise<Map<number, string>> {
    const query = trx(list.name).select(list.address, list.wb).where(list.account, account);
    if (addresses !== undefined) query.whereIn(list.address, addresses);
    const rows = (await query) as Record<string, unknown>[];
    return new Map(rows.map((row) => [intOf(row[list.address]), textOf(row[list.wb])]));
  }

  return {
    lookup: (query) =>
      withStoreErrors('wblist.lookup', async () => {
        const inbound: WblistMatch[] = [];
        const outbound: WblistMatch[] = [];
        const { inbound: inQuery, outbound: outQuery } = query;
        const inClient = inQuery?.clientAddress ?? '';
        const outClient = outQuery?.clientAddress ?? '';
        // Each part: direction, its two value lists (account side first) and how it matches networks.
        const parts: [
          WblistDirection,
          readonly string[],
          readonly string[],
          'account' | 'address' | undefined,
        ][] = [];
        if (inQuery !== undefined && inQuery.accounts.length > 0) {
          parts.push(['inbound', inQuery.accounts, inQuery.senders, inClient === '' ? undefined : 'address']);
        }
        if (outQuery !== undefined && outQuery.recipients.length > 0) {
          parts.push([
            'outbound',
            outQuery.accounts,
            outQuery.recipients,
            outClient === '' ? undefined : 'account',
          ]);
        }
        if (parts.length === 0) return { inbound, outbound };
        const shape = `wblist.lookup${parts.map(([dir, a, o, net]) => `/${dir}:${a.length}:${o.length}:${net ?? ''}`).join('')}`;
        const values = parts.flatMap(([, a, o]) => [...a, ...o].map(bin));
        const rows = await statements.select<LookupRow>(
          shape,
          (p) => {
            let next = 0;
            const params = (list: readonly string[]) => list.map(() => p(next++));
            const [first, ...rest] = parts.map(([dir, a, o, net]) =>
              lookupPart(dir, params(a), params(o), net),
            );
            return rest.length === 0 ? first! : first!.unionAll(rest);
          },
          values,
        );

        const senders = new Set(inQuery?.senders ?? []);
        const accounts = new Set(outQuery?.accounts ?? []);
        const inAccounts = new Set(inQuery?.accounts ?? []);
        const recipients = new Set(outQuery?.recipients ?? []);
        for (const row of rows) {
          const list = wblistOf(textOf(row.wb));
          if (list === undefined) continue;
          const account = textOf(row.account);
          const address = textOf(row.address);
          const match = (byNetwork: boolean): WblistMatch => ({
            account,
            accountPriority: intOf(row.account_priority),
            address,
            addressPriority: intOf(row.address_priority),
            list,
            byNetwork,
          });
          if (row.dir === 'in') {
            if (!inAccounts.has(account)) continue;
            if (senders.has(address)) inbound.push(match(false));
            else if (storedNetworkContains(address, inClient)) inbound.push(match(true));
          } else {
            if (!recipients.has(address)) continue;
            if (accounts.has(account)) outbound.push(match(false));
            else if (storedNetworkContains(account, outClient)) outbound.push(match(true));
          }
        }
        return sortWblistMatches(inbound, outbound);
      }),

    add: (change) =>
      withStoreErrors('wblist.add', async () => {
        const parsed = parseWblistChange(change);
        const letter = wbLetter(parsed.list);
        const list = LISTS[parsed.direction];
        return inTransaction(db, lock, async (trx) => {
          // Touch the account row first: the upsert locks it (MySQL, PostgreSQL), so adds and removes of one
          // account run one after the other. Existing rows keep their priority (only email is "updated").
          await trx(USERS.name)
            .insert({
              [U.email]: bin(parsed.account.value),
              [U.priority]: parsed.account.priority,
              [U.policyId]: NEW_ACCOUNT_POLICY_ID,
            })
            .onConflict(U.email)
            .merge([U.email]);
          const account = await accountId(trx, parsed.account.value, false);
          if (account === undefined) throw new Error(`users row for ${parsed.account.value} vanished`);
          // Addresses in one fixed order, so concurrent transactions lock mailaddr rows in the same order.
          const sorted = [...parsed.addresses].sort((a, b) => byText(a.value, b.value));
          for (const part of chunks(sorted)) {
            await trx(MAILADDR.name)
              .insert(part.map(({ value, priority }) => ({ [M.email]: bin(value), [M.priority]: priority })))
              .onConflict(M.email)
              .merge([M.email]);
          }
          const ids = await addressIds(
            trx,
            sorted.map(({ value }) => value),
          );
          const existing = await entriesOf(trx, list, account, [...ids.values()]);
          const changed: string[] = [];
          const inserts: Record<string, unknown>[] = [];
          const moves: number[] = [];
          for (const { value } of parsed.addresses) {
            const id = ids.get(value);
            if (id === undefined) throw new Error(`mailaddr row for ${value} vanished`);
            const wb = existing.get(id);
            if (wb === letter) continue;
            if (wb === undefined)
              inserts.push({ [list.account]: account, [list.address]: id, [list.wb]: letter });
            else moves.push(id);
            changed.push(value);
          }
          for (const part of chunks(inserts)) await trx(list.name).insert(part);
          for (const part of chunks(moves)) {
            await trx(list.name)
              .update(list.wb, letter)
              .where(list.account, account)
              .whereIn(list.address, part);
          }
          return changed;
        });
      }),

    remove: (change) =>
      withStoreErrors('wblist.remove', async () => {
        const parsed = parseWblistChange(change);
        const letter = wbLetter(parsed.list);
        const list = LISTS[parsed.direction];
        if (parsed.addresses.length === 0) return [];
        return inTransaction(db, lock, async (trx) => {
          const account = await accountId(trx, parsed.account.value, true);
          if (account === undefined) return [];
          const ids = await addressIds(
            trx,
            parsed.addresses.map(({ value }) => value),
          );
          const existing = await entriesOf(trx, list, account, [...ids.values()]);
          const removed: string[] = [];
          const doomed: number[] = [];
          for (const { value } of parsed.addresses) {
            const id = ids.get(value);
            if (id === undefined || existing.get(id) !== letter) continue;
            doomed.push(id);
            removed.push(value);
          }
          for (const part of chunks(doomed)) {
            await trx(list.name).delete().where(list.account, account).whereIn(list.address, part);
          }
          return removed;
        });
      }),

    removeAll: (ref) =>
      withStoreErrors('wblist.removeAll', async () => {
        const parsed = parseWblistListRef(ref);
        const letter = wbLetter(parsed.list);
        const list = LISTS[parsed.direction];
        return inTransaction(db, lock, async (trx) => {
          const account = await accountId(trx, parsed.account.value, true);
          if (account === undefined) return 0;
          const existing = await entriesOf(trx, list, account, undefined);
          const doomed = [...existing].filter(([, wb]) => wb === letter).map(([id]) => id);
          for (const part of chunks(doomed)) {
            await trx(list.name).delete().where(list.account, account).whereIn(list.address, part);
          }
          return doomed.length;
        });
      }),

    list: (ref) =>
      withStoreErrors('wblist.list', async () => {
        const parsed = parseWblistAccountRef(ref);
        const list = LISTS[parsed.direction];
        const rows = (await knex({ l: list.name })
          .join({ u: USERS.name }, `u.${U.id}`, `l.${list.account}`)
          .join({ m: MAILADDR.name }, `m.${M.id}`, `l.${list.address}`)
          .select(
            knex.ref(`m.${M.email}`).as('address'),
            knex.ref(`m.${M.priority}`).as('priority'),
            knex.ref(`l.${list.wb}`).as('wb'),
          )
          .where(`u.${U.email}`, bin(parsed.account.value))) as {
          address: unknown;
          priority: unknown;
          wb: unknown;
        }[];
        return rows
          .map((row) => {
            const wb = textOf(row.wb);
            return {
              address: textOf(row.address),
              addressPriority: intOf(row.priority),
              list: wblistOf(wb) ?? 'ignored',
              wb,
            } as const;
          })
          .sort((a, b) => byText(a.address, b.address));
      }),

    findAccounts: (accounts) =>
      withStoreErrors('wblist.findAccounts', async () => {
        const wanted = [...new Set(accounts)];
        if (wanted.length === 0) return [];
        const found: { account: string; priority: number }[] = [];
        for (const part of chunks(wanted)) {
          const rows = (await knex(USERS.name)
            .select(U.email, U.priority)
            .whereIn(U.email, part.map(bin))) as { email: unknown; priority: unknown }[];
          for (const row of rows) found.push({ account: textOf(row.email), priority: intOf(row.priority) });
        }
        return found.sort((a, b) => b.priority - a.priority || byText(a.account, b.account));
      }),
  };
}
