/**
 * `GreylistStore.loadContext` in one round trip: a single `UNION ALL` of
 * 1. the `greylisting_whitelists` rows (manual) of the recipients whose lower-cased sender is one of the sender
 *    candidates or that may be a network containing the client (a text prefix filter over the recipients' rows;
 *    containment is checked exactly in code with `storedNetworkContains`);
 * 2. the `greylisting_whitelist_domain_spf` rows (generated; thousands under `@.`) of the recipients whose
 *    sender is one of the candidates or one of the canonical networks containing the client
 *    (`containingNetworks`: 33 for IPv4, 129 for IPv6) — index look-ups on `(account, sender)`, no scan. Generated
 *    rows are compared as stored: policyd writes them canonical; rows iRedAPD's cron stored in another spelling
 *    (upper-case IPv6) match once policyd's refresh has rewritten the domain. Left out when the store keeps an
 *    in-memory copy of the table (`spfWhitelistCacheTtlMs`, `generated-whitelist-cache.ts`);
 * 3. every `greylisting` setting row of the recipients;
 * 4. the number of passed, unexpired `greylisting_tracking` rows of the client key (index
 *    `client_address, passed`);
 * 5. when the query names a triplet, its `greylisting_tracking` row (an index look-up on the unique key
 *    `sender, recipient, client_address`). Only statements with this part return the tracking row's columns
 *    (the other parts fill them with `''`/`0`), so a context without a triplet costs what it did before.
 *
 * Accounts and the triplet are compared exactly in code as well: MySQL's `VARCHAR` comparison ignores case
 * (and trailing spaces), and every backend must return the same rows. Ordering is done in code (UTF-16 code
 * units), never by collation.
 */

import type {
  GreylistContext,
  GreylistContextQuery,
  GreylistSetting,
  GreylistTriplet,
  GreylistTripletState,
  GreylistWhitelistMatch,
  GreylistWhitelistSource,
} from '@policyd/core';
import {
  containingNetworks,
  fromUnixSeconds,
  normalizeIp,
  storedNetworkContains,
  toUnixSeconds,
} from '@policyd/core';
import type { Knex } from 'knex';
import type { GeneratedWhitelistSnapshot } from './generated-whitelist-cache.ts';
import { intOf, type SqlDatabase, textOf } from './sql.ts';
import type { Param, StatementCache } from './statement-cache.ts';
import {
  GREYLISTING,
  GREYLISTING_TRACKING,
  GREYLISTING_WHITELIST_DOMAIN_SPF,
  GREYLISTING_WHITELISTS,
} from './tables.ts';
import { byText } from './text-order.ts';

/** What each part of the `UNION ALL` is, in its `src` column. */
type Part = GreylistWhitelistSource | 'setting' | 'passed' | 'triplet';

/**
 * The columns every part of the union returns. The triplet part puts the recipient in `account`; the
 * tracking columns after `active` are only in statements that have the triplet part.
 */
interface ContextRow {
  readonly src: Part;
  readonly account: unknown;
  readonly sender: unknown;
  readonly comment: unknown;
  readonly priority: unknown;
  readonly sender_priority: unknown;
  readonly active: unknown;
  readonly client_address?: unknown;
  readonly sender_domain?: unknown;
  readonly rcpt_domain?: unknown;
  readonly init_time?: unknown;
  readonly block_expired?: unknown;
  readonly record_expired?: unknown;
  readonly blocked_count?: unknown;
  readonly passed?: unknown;
}

/** The union's columns in order, each with the literal the parts that do not have it select. */
const BASE_COLUMNS = [
  ['account', `''`],
  ['sender', `''`],
  ['comment', `''`],
  ['priority', '0'],
  ['sender_priority', '0'],
  ['active', '0'],
] as const;

/** The columns statements with the triplet part add after {@link BASE_COLUMNS}. */
const TRIPLET_COLUMNS = [
  ['client_address', `''`],
  ['sender_domain', `''`],
  ['rcpt_domain', `''`],
  ['init_time', '0'],
  ['block_expired', '0'],
  ['record_expired', '0'],
  ['blocked_count', '0'],
  ['passed', '0'],
] as const;

type Column = (typeof BASE_COLUMNS)[number][0] | (typeof TRIPLET_COLUMNS)[number][0];

/** Settings order: priority desc, sender priority desc, account, sender. */
export function bySettingOrder(a: GreylistSetting, b: GreylistSetting): number {
  return (
    b.priority - a.priority ||
    b.senderPriority - a.senderPriority ||
    byText(a.account, b.account) ||
    byText(a.sender, b.sender)
  );
}

/**
 * Lower-case `LIKE` patterns that every stored network containing `clientAddress` matches when it is spelled
 * canonically (any case): networks of prefix length ≥ 8 (IPv4) or ≥ 16 (IPv6) start with the client's first
 * octet or hextet, shorter ones end in `/0`–`/19`, and IPv4-mapped IPv6 networks (`::ffff:…`) count as IPv4.
 * Empty when the client is not an IP address (nothing can contain it). The candidates are checked exactly in
 * code; this only keeps rows that cannot match from being shipped.
 */
export function networkPatterns(clientAddress: string): string[] {
  const ip = normalizeIp(clientAddress);
  if (ip === undefined) return [];
  if (!ip.includes(':')) return [`${ip.slice(0, ip.indexOf('.'))}.%`, '::ffff:%', '%/_'];
  const first = ip.startsWith('::') ? '0' : ip.slice(0, ip.indexOf(':'));
  return [...(first === '0' ? ['::%', '0:%'] : [`${first}:%`]), '%/_', '%/1_'];
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** The values of a context statement, in the order {@link buildContextStatement} numbers them. */
interface ContextValues {
  readonly recipients: readonly string[];
  readonly senders: readonly string[];
  readonly patterns: readonly string[];
  readonly exact: readonly string[];
  readonly clientKey: string;
  readonly now: number;
  /** Sender, recipient and client key of the triplet whose row is wanted. */
  readonly triplet: readonly [sender: string, recipient: string, clientKey: string] | undefined;
}

/** The statement's shape: which parts it has and how long each list is. */
function contextShape(v: ContextValues): string {
  const lists = `${v.recipients.length}/${v.senders.length}/${v.patterns.length}/${v.exact.length}`;
  return `greylist.context/${lists}${v.triplet === undefined ? '' : '/triplet'}`;
}

function contextBindings(v: ContextValues): unknown[] {
  return [...v.recipients, ...v.senders, ...v.patterns, ...v.exact, v.clientKey, v.now, ...(v.triplet ?? [])];
}

/** The `UNION ALL` of the module comment, with `p(i)` for the i-th of {@link contextBindings}. */
function buildContextStatement(knex: Knex, v: ContextValues, p: Param): Knex.QueryBuilder {
  let next = 0;
  const params = (values: readonly unknown[]) => values.map(() => p(next++));
  const recipients = params(v.recipients);
  const senders = params(v.senders);
  const patterns = params(v.patterns);
  const exact = params(v.exact);
  const [clientKey, now] = params([v.clientKey, v.now]) as [string, string];
  const triplet = v.triplet === undefined ? undefined : (params(v.triplet) as [string, string, string]);

  const literal = (value: string, alias: string) => knex.raw(`${value} as ??`, [alias]);
  const columns = triplet === undefined ? BASE_COLUMNS : [...BASE_COLUMNS, ...TRIPLET_COLUMNS];
  /** A part's select list: `src`, then every column of the union, from `values` or as its literal. */
  const select = (src: Part, values: Partial<Record<Column, Knex.Raw | Knex.Ref<string, object>>>) => [
    literal(`'${src}'`, 'src'),
    ...columns.map(([alias, empty]) => values[alias] ?? literal(empty, alias)),
  ];
  const whitelistColumns = (c: typeof GREYLISTING_WHITELISTS.col, src: GreylistWhitelistSource) =>
    select(src, { account: knex.ref(c.account).as('account'), sender: knex.ref(c.sender).as('sender') });
  const parts: Knex.QueryBuilder[] = [];
  if (recipients.length > 0) {
    // Manual rows: compared lower-cased, networks in any spelling (a scan of the recipients' rows).
    const m = GREYLISTING_WHITELISTS.col;
    if (senders.length > 0 || patterns.length > 0) {
      parts.push(
        knex(GREYLISTING_WHITELISTS.name)
          .select(whitelistColumns(m, 'manual'))
          .whereIn(m.account, recipients)
          .andWhere((match) => {
            if (senders.length > 0) {
              match.whereRaw(`LOWER(??) IN (${placeholders(senders.length)})`, [m.sender, ...senders]);
            }
            if (patterns.length > 0) {
              match.orWhere((network) => {
                network.whereRaw('LOWER(??) LIKE ?', [m.sender, '%/%']).andWhere((prefix) => {
                  for (const pattern of patterns) prefix.orWhereRaw('LOWER(??) LIKE ?', [m.sender, pattern]);
                });
              });
            }
          }),
      );
    }
    // Generated rows (thousands under `@.`): index look-ups of the candidates and of every canonical network
    // that contains the client, instead of a scan.
    const d = GREYLISTING_WHITELIST_DOMAIN_SPF.col;
    if (exact.length > 0) {
      parts.push(
        knex(GREYLISTING_WHITELIST_DOMAIN_SPF.name)
          .select(whitelistColumns(d, 'spf'))
          .whereIn(d.account, recipients)
          .whereIn(d.sender, exact),
      );
    }
    const g = GREYLISTING.col;
    parts.push(
      knex(GREYLISTING.name)
        .select(
          select('setting', {
            account: knex.ref(g.account).as('account'),
            sender: knex.ref(g.sender).as('sender'),
            comment: knex.ref(g.comment).as('comment'),
            priority: knex.ref(g.priority).as('priority'),
            sender_priority: knex.ref(g.senderPriority).as('sender_priority'),
            active: knex.ref(g.active).as('active'),
          }),
        )
        .whereIn(g.account, recipients),
    );
  }
  const t = GREYLISTING_TRACKING.col;
  parts.push(
    knex(GREYLISTING_TRACKING.name)
      .select(select('passed', { priority: knex.raw('COUNT(*) as ??', ['priority']) }))
      .where(t.clientAddress, clientKey)
      .andWhere(t.passed, 1)
      .andWhere(t.recordExpired, '>=', now),
  );
  if (triplet !== undefined) {
    const [sender, recipient, key] = triplet;
    const ref = (column: string, alias: Column) => knex.ref(column).as(alias);
    parts.push(
      knex(GREYLISTING_TRACKING.name)
        .select(
          select('triplet', {
            account: ref(t.recipient, 'account'),
            sender: ref(t.sender, 'sender'),
            client_address: ref(t.clientAddress, 'client_address'),
            sender_domain: ref(t.senderDomain, 'sender_domain'),
            rcpt_domain: ref(t.rcptDomain, 'rcpt_domain'),
            init_time: ref(t.initTime, 'init_time'),
            block_expired: ref(t.blockExpired, 'block_expired'),
            record_expired: ref(t.recordExpired, 'record_expired'),
            blocked_count: ref(t.blockedCount, 'blocked_count'),
            passed: ref(t.passed, 'passed'),
          }),
        )
        .where(t.sender, sender)
        .andWhere(t.recipient, recipient)
        .andWhere(t.clientAddress, key),
    );
  }
  const [first, ...rest] = parts as [Knex.QueryBuilder, ...Knex.QueryBuilder[]];
  return rest.length > 0 ? first.unionAll(rest) : first;
}

/**
 * Load the context of one greylisting decision (see the module comment). One query, compiled once per shape
 * in `statements`. With `generated` (an in-memory copy of `greylisting_whitelist_domain_spf`), the query
 * leaves that table out and the copy is matched instead.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `now` is not a time in milliseconds
 */
export async function loadGreylistContext(
  db: SqlDatabase,
  statements: StatementCache,
  query: GreylistContextQuery,
  generated?: GeneratedWhitelistSnapshot,
): Promise<GreylistContext> {
  const now = toUnixSeconds(query.now, 'now');
  const recipients = [...new Set(query.recipients.map(String))];
  const senders = [...new Set(query.senders.map((sender) => String(sender).toLowerCase()))];
  const clientAddress = String(query.clientAddress);
  const values: ContextValues = {
    recipients,
    senders,
    patterns: networkPatterns(clientAddress),
    exact:
      recipients.length === 0 || generated !== undefined
        ? []
        : [...new Set([...senders, ...containingNetworks(clientAddress)])],
    clientKey: String(query.clientKey),
    now,
    triplet:
      query.triplet === undefined
        ? undefined
        : [String(query.triplet.sender), String(query.triplet.recipient), String(query.triplet.clientKey)],
  };
  const rows = await statements.select<ContextRow>(
    contextShape(values),
    (p) => buildContextStatement(db.knex, values, p),
    contextBindings(values),
  );

  const wanted = new Set(recipients);
  const candidates = new Set(senders);
  const whitelist: Record<GreylistWhitelistSource, GreylistWhitelistMatch[]> = {
    manual: [],
    spf: generated?.match(recipients, candidates, clientAddress) ?? [],
  };
  const settings: GreylistSetting[] = [];
  let passedTriplets = 0;
  let triplet: GreylistTripletState | null = null;
  for (const row of rows) {
    if (row.src === 'passed') {
      passedTriplets = intOf(row.priority);
      continue;
    }
    if (row.src === 'triplet') {
      triplet ??= tripletOf(row, values.triplet!);
      continue;
    }
    const account = textOf(row.account);
    if (!wanted.has(account)) continue;
    const sender = textOf(row.sender);
    if (row.src === 'setting') {
      settings.push({
        account,
        priority: intOf(row.priority),
        sender,
        senderPriority: intOf(row.sender_priority),
        active: intOf(row.active) === 1,
        comment: textOf(row.comment),
      });
      continue;
    }
    const exact = candidates.has(sender.toLowerCase());
    if (!exact && !storedNetworkContains(sender, clientAddress)) continue;
    whitelist[row.src].push({ account, sender, source: row.src, byNetwork: !exact });
  }
  const byAccountSender = (a: GreylistWhitelistMatch, b: GreylistWhitelistMatch): number =>
    byText(a.account, b.account) || byText(a.sender, b.sender);
  const context: GreylistContext = {
    whitelist: [...whitelist.manual.sort(byAccountSender), ...whitelist.spf.sort(byAccountSender)],
    settings: settings.sort(bySettingOrder),
    passedTriplets,
  };
  return values.triplet === undefined ? context : { ...context, triplet };
}

/**
 * The tracking row of the triplet part, or null when its key is not exactly `[sender, recipient, clientKey]`
 * (MySQL found it ignoring case or trailing spaces: it is another triplet's row).
 */
function tripletOf(
  row: ContextRow,
  [sender, recipient, clientKey]: readonly [string, string, string],
): GreylistTripletState | null {
  const key: Pick<GreylistTriplet, 'sender' | 'recipient' | 'clientKey'> = {
    sender: textOf(row.sender),
    recipient: textOf(row.account),
    clientKey: textOf(row.client_address),
  };
  if (key.sender !== sender || key.recipient !== recipient || key.clientKey !== clientKey) return null;
  return {
    ...key,
    senderDomain: textOf(row.sender_domain),
    recipientDomain: textOf(row.rcpt_domain),
    firstSeenAt: fromUnixSeconds(intOf(row.init_time)),
    blockExpiresAt: fromUnixSeconds(intOf(row.block_expired)),
    recordExpiresAt: fromUnixSeconds(intOf(row.record_expired)),
    blockedCount: intOf(row.blocked_count),
    passed: intOf(row.passed) === 1,
  };
}
