/**
 * The decision table: list contents, a request, the options, and iRedAPD's answer (the wire action) with the
 * reason policyd gives. Lists are written through the admin API (so SQL backends exercise their write path);
 * `rows` seeds raw rows for what only other tools write (custom priorities, odd `wb` values, IP accounts).
 *
 * Unless a case says otherwise: sender `sender@ext.test`, recipient `user@local.test`, client `192.0.2.10`, no
 * SASL login; vmail holds the domains of `WORLD_DOMAINS`; the host name is `mx.policyd.test`.
 */

import type { WblistDirection, WblistList, WblistSeed } from '@policyd/core';
import type { RequestAttributes } from '@policyd/core/testing';
import type { WblistOptions } from '../src/index.ts';

/** One list to fill through the admin API. */
export interface ListSetup {
  readonly account: string;
  readonly direction: WblistDirection;
  readonly list: WblistList;
  readonly addresses: readonly string[];
}

/** One row of the decision table. */
export interface DecisionCase {
  /** What the case shows. */
  readonly name: string;
  /** Lists written through the admin API. */
  readonly lists?: readonly ListSetup[];
  /** Raw amavisd rows. */
  readonly rows?: WblistSeed;
  /** Request attributes over the defaults above. */
  readonly request?: RequestAttributes;
  /** Plugin options besides the stores. */
  readonly options?: Partial<Omit<WblistOptions, 'store' | 'domains'>>;
  /** Address extension delimiters of the request normaliser. */
  readonly delimiters?: readonly string[];
  /** The wire action (`OK`, `REJECT Blacklisted`, `DISCARD Policy discard`, `DUNNO`). */
  readonly action: string;
  /** The decision's reason. */
  readonly reason: string;
}

/** Inbound list of `account`. */
const inbound = (account: string, list: WblistList, ...addresses: string[]): ListSetup => ({
  account,
  direction: 'inbound',
  list,
  addresses,
});
/** Outbound list of `account`. */
const outbound = (account: string, list: WblistList, ...addresses: string[]): ListSetup => ({
  account,
  direction: 'outbound',
  list,
  addresses,
});

const W = 'whitelist';
const B = 'blacklist';
const OK = 'OK';
const REJECT = 'REJECT Blacklisted';
const DUNNO = 'DUNNO';
const NO_MATCH = 'no matching entry';
const EXTERNAL = 'inbound lists skipped: authenticated sender, external recipient';

/** The request of an authenticated client. */
const sasl = (login: string, recipient: string, extra: RequestAttributes = {}): RequestAttributes => ({
  sasl_method: 'PLAIN',
  sasl_username: login,
  sender: login,
  recipient,
  ...extra,
});

/** Every account form on the recipient side, inbound. */
const recipientAccounts: readonly DecisionCase[] = [
  {
    name: 'a per-user list applies to that user',
    lists: [inbound('user@local.test', B, '@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → user@local.test',
  },
  {
    name: 'a per-user list does not apply to another user',
    lists: [inbound('other@local.test', B, '@ext.test')],
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a per-domain list (@domain) applies to its users',
    lists: [inbound('@local.test', B, '@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @local.test',
  },
  {
    name: 'a per-domain list does not cover subdomains',
    lists: [inbound('@local.test', B, '@ext.test')],
    request: { recipient: 'user@sub.local.test' },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a domain-and-subdomains list (@.domain) covers a subdomain',
    lists: [inbound('@.local.test', B, '@ext.test')],
    request: { recipient: 'user@deep.sub.local.test' },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.local.test',
  },
  {
    name: 'a domain-and-subdomains list (@.domain) covers the domain itself',
    lists: [inbound('@.local.test', B, '@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.local.test',
  },
  {
    name: 'a top-level-domain list (@.tld) covers every domain under it',
    lists: [inbound('@.test', B, '@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.test',
  },
  {
    name: 'the server-wide list (@.) covers every recipient',
    lists: [inbound('@.', B, '@ext.test')],
    request: { recipient: 'anyone@anywhere.example' },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'the recipient is judged without its extension',
    lists: [inbound('user@local.test', W, '@ext.test')],
    request: { recipient: 'user+folder@local.test' },
    action: OK,
    reason: 'inbound-whitelist: @ext.test → user@local.test',
  },
];

/** Every sender form, inbound, on the server-wide list. */
const senderForms: readonly DecisionCase[] = [
  {
    name: 'an address',
    lists: [inbound('@.', W, 'sender@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: sender@ext.test → @.',
  },
  {
    name: 'an address, the sender written with an extension and in upper case',
    lists: [inbound('@.', W, 'sender@ext.test')],
    request: { sender: 'Sender+News@EXT.test' },
    action: OK,
    reason: 'inbound-whitelist: sender@ext.test → @.',
  },
  {
    name: 'an address stored in upper case is stored lower-cased and matches',
    lists: [inbound('@.', B, 'SENDER@Ext.Test')],
    action: REJECT,
    reason: 'inbound-blacklist: sender@ext.test → @.',
  },
  {
    name: 'user@* matches the local part on any domain',
    lists: [inbound('@.', B, 'sender@*')],
    request: { sender: 'sender@elsewhere.example' },
    action: REJECT,
    reason: 'inbound-blacklist: sender@* → @.',
  },
  {
    name: 'user@* cuts the local part at "+" even when "+" is not a delimiter',
    lists: [inbound('@.', B, 'sender@*')],
    request: { sender: 'sender+tag@ext.test' },
    delimiters: ['-'],
    action: REJECT,
    reason: 'inbound-blacklist: sender@* → @.',
  },
  {
    name: 'user@* does not match another local part',
    lists: [inbound('@.', B, 'other@*')],
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a domain (@domain)',
    lists: [inbound('@.', B, '@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'a domain (@domain) does not cover its subdomains',
    lists: [inbound('@.', B, '@ext.test')],
    request: { sender: 'sender@mail.ext.test' },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a domain and subdomains (@.domain)',
    lists: [inbound('@.', B, '@.ext.test')],
    request: { sender: 'sender@mail.ext.test' },
    action: REJECT,
    reason: 'inbound-blacklist: @.ext.test → @.',
  },
  {
    name: 'a top-level domain (@.tld)',
    lists: [inbound('@.', B, '@.example')],
    request: { sender: 'x@spam.example' },
    action: REJECT,
    reason: 'inbound-blacklist: @.example → @.',
  },
  {
    name: 'everybody (@.)',
    lists: [inbound('user@local.test', B, '@.')],
    action: REJECT,
    reason: 'inbound-blacklist: @. → user@local.test',
  },
  {
    name: 'an IPv4 address',
    lists: [inbound('@.', B, '192.0.2.10')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.10 → @.',
  },
  {
    name: 'an IPv4 address does not match another client',
    lists: [inbound('@.', B, '192.0.2.11')],
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'an IPv6 address, in any spelling',
    lists: [inbound('@.', B, '2001:DB8:0::10')],
    request: { client_address: '2001:db8::10' },
    action: REJECT,
    reason: 'inbound-blacklist: 2001:db8::10 → @.',
  },
  {
    name: 'an IPv4-mapped IPv6 client is its IPv4 address',
    lists: [inbound('@.', B, '192.0.2.10')],
    request: { client_address: '::ffff:192.0.2.10' },
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.10 → @.',
  },
  {
    name: 'a wildcard IPv4 a.b.c.*',
    lists: [inbound('@.', B, '192.0.2.*')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.* → @.',
  },
  {
    name: 'a wildcard IPv4 a.b.*.d',
    lists: [inbound('@.', B, '192.0.*.10')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.*.10 → @.',
  },
  {
    name: 'a wildcard IPv4 a.b.*.* does not match by default (ENABLE_ALL_WILDCARD_IP off)',
    lists: [inbound('@.', B, '192.0.*.*')],
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a wildcard IPv4 a.b.*.* matches with enableAllWildcardIp',
    lists: [inbound('@.', B, '192.0.*.*')],
    options: { enableAllWildcardIp: true },
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.*.* → @.',
  },
  {
    name: 'a non-contiguous wildcard a.*.c.* matches with enableAllWildcardIp (iRedAPD: never)',
    lists: [inbound('@.', B, '192.*.2.*')],
    options: { enableAllWildcardIp: true },
    action: REJECT,
    reason: 'inbound-blacklist: 192.*.2.* → @.',
  },
  {
    name: 'a wildcard *.*.*.* matches every IPv4 client with enableAllWildcardIp',
    lists: [inbound('@.', B, '*.*.*.*')],
    options: { enableAllWildcardIp: true },
    action: REJECT,
    reason: 'inbound-blacklist: *.*.*.* → @.',
  },
  {
    name: 'a wildcard whose octets differ does not match, even with enableAllWildcardIp',
    lists: [inbound('@.', B, '192.0.3.*')],
    options: { enableAllWildcardIp: true },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a wildcard IPv4 never matches an IPv6 client',
    lists: [inbound('@.', B, '*.*.*.*')],
    options: { enableAllWildcardIp: true },
    request: { client_address: '2001:db8::10' },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'an IPv4 network containing the client',
    lists: [inbound('@.', B, '192.0.2.0/24')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.0/24 (client network) → @.',
  },
  {
    name: 'an IPv4 network not containing the client',
    lists: [inbound('@.', B, '192.0.3.0/24')],
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'an IPv4 network whose first octet differs from the client’s (iRedAPD: never)',
    lists: [inbound('@.', B, '128.0.0.0/1')],
    action: REJECT,
    reason: 'inbound-blacklist: 128.0.0.0/1 (client network) → @.',
  },
  {
    name: 'an IPv6 network containing the client (iRedAPD: never)',
    lists: [inbound('@.', B, '2001:db8::/32')],
    request: { client_address: '2001:db8:1::10' },
    action: REJECT,
    reason: 'inbound-blacklist: 2001:db8::/32 (client network) → @.',
  },
  {
    name: 'an IPv6 network does not contain an IPv4 client',
    lists: [inbound('@.', B, '::/0')],
    action: DUNNO,
    reason: NO_MATCH,
  },
];

/** Which entry wins. */
const precedence: readonly DecisionCase[] = [
  {
    name: 'a per-user blacklist beats a server-wide whitelist of the exact address',
    lists: [inbound('user@local.test', B, '@ext.test'), inbound('@.', W, 'sender@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → user@local.test',
  },
  {
    name: 'a per-user whitelist beats a per-domain blacklist',
    lists: [inbound('user@local.test', W, '@.'), inbound('@local.test', B, 'sender@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: @. → user@local.test',
  },
  {
    name: 'a per-domain list beats a domain-and-subdomains list',
    lists: [inbound('@local.test', W, '@ext.test'), inbound('@.local.test', B, 'sender@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: @ext.test → @local.test',
  },
  {
    name: 'a domain-and-subdomains list beats a top-level-domain list',
    lists: [inbound('@.local.test', B, '@.'), inbound('@.test', W, 'sender@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @. → @.local.test',
  },
  {
    name: 'a top-level-domain list beats the server-wide list',
    lists: [inbound('@.test', W, '@.'), inbound('@.', B, 'sender@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: @. → @.test',
  },
  {
    name: 'within one account, an address beats its domain',
    lists: [inbound('@.', W, 'sender@ext.test'), inbound('@.', B, '@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: sender@ext.test → @.',
  },
  {
    name: 'within one account, an address beats the client IP',
    lists: [inbound('@.', B, 'sender@ext.test'), inbound('@.', W, '192.0.2.10')],
    action: REJECT,
    reason: 'inbound-blacklist: sender@ext.test → @.',
  },
  {
    name: 'within one account, an IP beats a wildcard IP',
    lists: [inbound('@.', W, '192.0.2.10'), inbound('@.', B, '192.0.2.*')],
    action: OK,
    reason: 'inbound-whitelist: 192.0.2.10 → @.',
  },
  {
    name: 'within one account, a wildcard IP beats user@*',
    lists: [inbound('@.', B, '192.0.2.*'), inbound('@.', W, 'sender@*')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.* → @.',
  },
  {
    name: 'within one account, user@* beats a domain',
    lists: [inbound('@.', W, 'sender@*'), inbound('@.', B, '@ext.test')],
    action: OK,
    reason: 'inbound-whitelist: sender@* → @.',
  },
  {
    name: 'within one account, a domain beats domain-and-subdomains',
    lists: [inbound('@.', B, '@ext.test'), inbound('@.', W, '@.ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'within one account, domain-and-subdomains beats a top-level domain',
    lists: [inbound('@.', W, '@.ext.test'), inbound('@.', B, '@.test')],
    action: OK,
    reason: 'inbound-whitelist: @.ext.test → @.',
  },
  {
    name: 'within one account, a top-level domain beats everybody (@.)',
    lists: [inbound('@.', B, '@.test'), inbound('@.', W, '@.')],
    action: REJECT,
    reason: 'inbound-blacklist: @.test → @.',
  },
  {
    name: 'within one account, a network comes after everything else, even @. (as iRedAPD)',
    lists: [inbound('@.', W, '@.'), inbound('@.', B, '192.0.2.0/24')],
    action: OK,
    reason: 'inbound-whitelist: @. → @.',
  },
  {
    name: 'a network on a more specific account beats everything on a less specific one',
    lists: [inbound('user@local.test', B, '192.0.2.0/24'), inbound('@.', W, 'sender@ext.test')],
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.0/24 (client network) → user@local.test',
  },
  {
    name: 'stored priorities decide, not the form (rows written by another tool)',
    rows: {
      accounts: [{ account: '@.', priority: 0 }],
      addresses: [
        { address: '@ext.test', priority: 20 },
        { address: 'sender@ext.test', priority: 10 },
      ],
      entries: [
        { direction: 'inbound', account: '@.', address: '@ext.test', wb: 'B' },
        { direction: 'inbound', account: '@.', address: 'sender@ext.test', wb: 'W' },
      ],
    },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'stored account priorities decide which account comes first',
    rows: {
      accounts: [
        { account: '@.', priority: 50 },
        { account: 'user@local.test', priority: 10 },
      ],
      addresses: [{ address: '@ext.test', priority: 5 }],
      entries: [
        { direction: 'inbound', account: '@.', address: '@ext.test', wb: 'W' },
        { direction: 'inbound', account: 'user@local.test', address: '@ext.test', wb: 'B' },
      ],
    },
    action: OK,
    reason: 'inbound-whitelist: @ext.test → @.',
  },
  {
    name: 'rows whose wb is not exactly W or B are ignored',
    rows: {
      accounts: [
        { account: 'user@local.test', priority: 10 },
        { account: '@.', priority: 0 },
      ],
      addresses: [{ address: 'sender@ext.test', priority: 10 }],
      entries: [
        { direction: 'inbound', account: 'user@local.test', address: 'sender@ext.test', wb: 'w' },
        { direction: 'inbound', account: '@.', address: 'sender@ext.test', wb: 'B' },
      ],
    },
    action: REJECT,
    reason: 'inbound-blacklist: sender@ext.test → @.',
  },
];

/** Alias domains on either side. */
const aliasDomains: readonly DecisionCase[] = [
  {
    name: 'a recipient in an alias domain gets the per-user list of the target domain',
    lists: [inbound('user@local.test', B, '@ext.test')],
    request: { recipient: 'user@alias.test' },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → user@local.test',
  },
  {
    name: 'a recipient in an alias domain gets the per-domain list of the target domain',
    lists: [inbound('@local.test', B, '@ext.test')],
    request: { recipient: 'user@alias.test' },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @local.test',
  },
  {
    name: 'a recipient in an alias domain keeps the lists of the alias domain itself',
    lists: [inbound('@alias.test', B, '@ext.test')],
    request: { recipient: 'user@alias.test' },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @alias.test',
  },
  {
    name: 'an alias of an inactive domain is not expanded',
    lists: [inbound('user@inactive.test', B, '@ext.test')],
    request: { recipient: 'user@deadalias.test' },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'a sender in an alias domain also matches as the target-domain address',
    lists: [inbound('user@other.test', B, 'friend@local.test')],
    request: { sender: 'friend@alias.test', recipient: 'user@other.test' },
    action: REJECT,
    reason: 'inbound-blacklist: friend@local.test → user@other.test',
  },
  {
    name: 'a sender in an alias domain also matches the target domain',
    lists: [inbound('user@other.test', W, '@local.test')],
    request: { sender: 'friend@alias.test', recipient: 'user@other.test' },
    action: OK,
    reason: 'inbound-whitelist: @local.test → user@other.test',
  },
];

/** Requests skipped before any look-up. */
const skips: readonly DecisionCase[] = [
  {
    name: 'the null sender is never judged, even from a blacklisted client (iRedAPD B12, kept)',
    lists: [inbound('@.', B, '192.0.2.10', '@.')],
    request: { sender: '' },
    action: DUNNO,
    reason: 'skip: null sender',
  },
  {
    name: 'the null sender with a SASL login is judged by the login',
    lists: [inbound('@.', B, 'john@local.test')],
    request: sasl('john@local.test', 'user@local.test', { sender: '' }),
    action: REJECT,
    reason: 'inbound-blacklist: john@local.test → @.',
  },
  {
    name: 'mail to oneself is not judged',
    lists: [inbound('@.', B, '@local.test')],
    request: { sender: 'user@local.test', recipient: 'user@local.test' },
    action: DUNNO,
    reason: 'skip: sender is the recipient',
  },
  {
    name: 'mail to oneself is compared without extensions',
    lists: [inbound('@.', B, '@local.test')],
    request: { sender: 'user+a@local.test', recipient: 'User+b@local.test' },
    action: DUNNO,
    reason: 'skip: sender is the recipient',
  },
  {
    name: 'an authenticated login sending to itself is not judged',
    lists: [outbound('john@local.test', B, 'john@local.test')],
    request: sasl('john@local.test', 'john@local.test'),
    action: DUNNO,
    reason: 'skip: sender is the recipient',
  },
];

/** Authenticated senders: outbound lists and when inbound lists still apply. */
const authenticated: readonly DecisionCase[] = [
  {
    name: 'outbound: a per-user list blacklists a recipient domain',
    lists: [outbound('john@local.test', B, '@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: john@local.test → @ext.test',
  },
  {
    name: 'outbound: a per-domain list applies to its users',
    lists: [outbound('@local.test', B, 'bob@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: @local.test → bob@ext.test',
  },
  {
    name: 'outbound: a domain-and-subdomains list applies to subdomain users',
    lists: [outbound('@.local.test', B, '@.ext.test')],
    request: sasl('john@sub.local.test', 'bob@mail.ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: @.local.test → @.ext.test',
  },
  {
    name: 'outbound: a top-level-domain list',
    lists: [outbound('@.test', B, '@.example')],
    request: sasl('john@local.test', 'bob@ext.example'),
    action: REJECT,
    reason: 'outbound-blacklist: @.test → @.example',
  },
  {
    name: 'outbound: the server-wide list applies to every login',
    lists: [outbound('@.', B, 'bob@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: @. → bob@ext.test',
  },
  {
    name: 'outbound: the server-wide list can block every recipient (@.)',
    lists: [outbound('john@local.test', B, '@.')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: john@local.test → @.',
  },
  {
    name: 'outbound: the recipient is judged without its extension',
    lists: [outbound('john@local.test', B, 'bob@ext.test')],
    request: sasl('john@local.test', 'bob+x@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: john@local.test → bob@ext.test',
  },
  {
    name: 'outbound: a more specific account’s whitelist ends the outbound check',
    lists: [outbound('john@local.test', W, 'bob@ext.test'), outbound('@local.test', B, '@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: DUNNO,
    reason: `outbound-whitelist: john@local.test → bob@ext.test; ${EXTERNAL}`,
  },
  {
    name: 'outbound: within one account the most specific recipient entry wins',
    lists: [outbound('john@local.test', W, '@ext.test'), outbound('john@local.test', B, '@.')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: DUNNO,
    reason: `outbound-whitelist: john@local.test → @ext.test; ${EXTERNAL}`,
  },
  {
    name: 'outbound: the account with the higher stored priority comes first',
    rows: {
      accounts: [
        { account: '@local.test', priority: 50 },
        { account: 'john@local.test', priority: 10 },
      ],
      addresses: [{ address: 'bob@ext.test', priority: 10 }],
      entries: [
        { direction: 'outbound', account: '@local.test', address: 'bob@ext.test', wb: 'B' },
        { direction: 'outbound', account: 'john@local.test', address: 'bob@ext.test', wb: 'W' },
      ],
    },
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: @local.test → bob@ext.test',
  },
  {
    name: 'outbound: a whitelisted recipient can still be rejected by its own inbound list',
    lists: [
      outbound('john@local.test', W, 'user@local.test'),
      inbound('user@local.test', B, 'john@local.test'),
    ],
    request: sasl('john@local.test', 'user@local.test'),
    action: REJECT,
    reason: 'inbound-blacklist: john@local.test → user@local.test',
  },
  {
    name: 'outbound: the login’s client IP can own an outbound list',
    rows: {
      accounts: [{ account: '192.0.2.10', priority: 9 }],
      addresses: [{ address: '@ext.test', priority: 5 }],
      entries: [{ direction: 'outbound', account: '192.0.2.10', address: '@ext.test', wb: 'B' }],
    },
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: 192.0.2.10 → @ext.test',
  },
  {
    name: 'outbound: a network account containing the client matches, after exact accounts (iRedAPD B14 fixed)',
    rows: {
      accounts: [
        { account: '192.0.2.0/24', priority: 7 },
        { account: '@.', priority: 0 },
      ],
      addresses: [{ address: '@ext.test', priority: 5 }],
      entries: [
        { direction: 'outbound', account: '192.0.2.0/24', address: '@ext.test', wb: 'B' },
        { direction: 'outbound', account: '@.', address: '@ext.test', wb: 'W' },
      ],
    },
    request: sasl('john@local.test', 'bob@ext.test'),
    action: DUNNO,
    reason: `outbound-whitelist: @. → @ext.test; ${EXTERNAL}`,
  },
  {
    name: 'outbound: a network account alone decides',
    rows: {
      accounts: [{ account: '192.0.2.0/24', priority: 7 }],
      addresses: [{ address: '@ext.test', priority: 5 }],
      entries: [{ direction: 'outbound', account: '192.0.2.0/24', address: '@ext.test', wb: 'B' }],
    },
    request: sasl('john@local.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: 192.0.2.0/24 (client network) → @ext.test',
  },
  {
    name: 'outbound: an inbound network entry never turns into an outbound match (iRedAPD B14)',
    lists: [inbound('@.', B, '192.0.2.0/24'), outbound('other@local.test', B, '@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: DUNNO,
    reason: `${NO_MATCH}; ${EXTERNAL}`,
  },
  {
    name: 'outbound: a recipient in an alias domain matches its target-domain address',
    lists: [outbound('john@other.test', B, 'bob@local.test')],
    request: sasl('john@other.test', 'bob@alias.test'),
    action: REJECT,
    reason: 'outbound-blacklist: john@other.test → bob@local.test',
  },
  {
    name: 'outbound: a login in an alias domain uses the target-domain account',
    lists: [outbound('john@local.test', B, '@ext.test')],
    request: sasl('john@alias.test', 'bob@ext.test'),
    action: REJECT,
    reason: 'outbound-blacklist: john@local.test → @ext.test',
  },
  {
    name: 'outbound lists need a SASL login: a local envelope sender alone is not enough',
    lists: [outbound('john@local.test', B, '@ext.test')],
    request: { sender: 'john@local.test', recipient: 'bob@ext.test' },
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'authenticated mail is judged by the login, not the envelope sender',
    lists: [inbound('@.', B, 'spam@ext.test')],
    request: sasl('john@local.test', 'user@local.test', { sender: 'spam@ext.test' }),
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'authenticated mail gets no user@* sender',
    lists: [inbound('@.', B, 'john@*')],
    request: sasl('john@local.test', 'user@local.test'),
    action: DUNNO,
    reason: NO_MATCH,
  },
  {
    name: 'authenticated mail still matches the client IP',
    lists: [inbound('@.', B, '192.0.2.10')],
    request: sasl('john@local.test', 'user@local.test'),
    action: REJECT,
    reason: 'inbound-blacklist: 192.0.2.10 → @.',
  },
  {
    name: 'inbound lists skip an authenticated sender’s external recipient',
    lists: [inbound('@.', B, 'john@local.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    action: DUNNO,
    reason: `${NO_MATCH}; ${EXTERNAL}`,
  },
  {
    name: 'inbound lists apply when the recipient shares the login’s domain, even one not hosted',
    lists: [inbound('@.', B, 'john@nothosted.test')],
    request: sasl('john@nothosted.test', 'bob@nothosted.test'),
    action: REJECT,
    reason: 'inbound-blacklist: john@nothosted.test → @.',
  },
  {
    name: 'inbound lists apply to a recipient in another local domain',
    lists: [inbound('user@other.test', B, '@local.test')],
    request: sasl('john@local.test', 'user@other.test'),
    action: REJECT,
    reason: 'inbound-blacklist: @local.test → user@other.test',
  },
  {
    name: 'inbound lists apply to a recipient in a backup-MX domain',
    lists: [inbound('@backup.test', B, 'john@local.test')],
    request: sasl('john@local.test', 'user@backup.test'),
    action: REJECT,
    reason: 'inbound-blacklist: john@local.test → @backup.test',
  },
  {
    name: 'inbound lists apply to a recipient in an alias domain, expanded',
    lists: [inbound('user@local.test', B, 'john@other.test')],
    request: sasl('john@other.test', 'user@alias.test'),
    action: REJECT,
    reason: 'inbound-blacklist: john@other.test → user@local.test',
  },
  {
    name: 'inbound lists apply to a recipient at the server’s host name',
    lists: [inbound('@.', B, 'john@local.test')],
    request: sasl('john@local.test', 'root@mx.policyd.test'),
    action: REJECT,
    reason: 'inbound-blacklist: john@local.test → @.',
  },
  {
    name: 'the host-name rule follows the hostname option',
    lists: [inbound('@.', B, 'john@local.test')],
    request: sasl('john@local.test', 'root@mx.policyd.test'),
    options: { hostname: '' },
    action: DUNNO,
    reason: `${NO_MATCH}; ${EXTERNAL}`,
  },
  {
    name: 'inbound lists skip a recipient in an inactive domain',
    lists: [inbound('@.', B, 'john@local.test')],
    request: sasl('john@local.test', 'user@inactive.test'),
    action: DUNNO,
    reason: `${NO_MATCH}; ${EXTERNAL}`,
  },
];

/** Each option. */
const options: readonly DecisionCase[] = [
  {
    name: 'bypassOutgoing ignores outbound lists',
    lists: [outbound('john@local.test', B, '@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    options: { bypassOutgoing: true },
    action: DUNNO,
    reason: `${EXTERNAL}; outbound lists bypassed (bypassOutgoing)`,
  },
  {
    name: 'bypassOutgoing keeps the inbound lists of local recipients',
    lists: [outbound('john@local.test', B, '@local.test'), inbound('user@local.test', W, 'john@local.test')],
    request: sasl('john@local.test', 'user@local.test'),
    options: { bypassOutgoing: true },
    action: OK,
    reason: 'inbound-whitelist: john@local.test → user@local.test',
  },
  {
    name: 'bypassOutgoing does not change unauthenticated mail',
    lists: [inbound('@.', B, '@ext.test')],
    options: { bypassOutgoing: true },
    action: REJECT,
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'discardInsteadOfReject discards inbound blacklisted mail',
    lists: [inbound('@.', B, '@ext.test')],
    options: { discardInsteadOfReject: true },
    action: 'DISCARD Policy discard',
    reason: 'inbound-blacklist: @ext.test → @.',
  },
  {
    name: 'discardInsteadOfReject discards outbound blacklisted mail',
    lists: [outbound('john@local.test', B, '@ext.test')],
    request: sasl('john@local.test', 'bob@ext.test'),
    options: { discardInsteadOfReject: true },
    action: 'DISCARD Policy discard',
    reason: 'outbound-blacklist: john@local.test → @ext.test',
  },
  {
    name: 'discardInsteadOfReject leaves whitelists alone',
    lists: [inbound('@.', W, '@ext.test')],
    options: { discardInsteadOfReject: true },
    action: OK,
    reason: 'inbound-whitelist: @ext.test → @.',
  },
];

/** The whole table, grouped. */
export const DECISION_CASES: Readonly<Record<string, readonly DecisionCase[]>> = Object.freeze({
  'recipient accounts (inbound)': recipientAccounts,
  'sender forms (inbound)': senderForms,
  precedence,
  'alias domains': aliasDomains,
  'skipped requests': skips,
  'authenticated senders': authenticated,
  options,
});
