/**
 * Request normalisation: decoded attributes become a typed, frozen {@link PolicyRequest}, following
 * {@link POSTFIX_ATTRIBUTES}; the rules follow iRedAPD so that plugins see the same values.
 *
 * This runs for every request, so it is written for speed: raw values come by table position (the decoder
 * fills them as it reads, without map lookups), the request is one object literal (one line per table row;
 * the tests check each field against its row's kind), and the common cases (digits, a canonical dotted quad,
 * a known state, an ASCII address) are recognised by plain character loops before any regular expression.
 */

import { isEmail } from './address.ts';
import { ATTRIBUTE_NAMES, type AttributeField, POSTFIX_ATTRIBUTES } from './attributes.ts';
import { PolicydError } from './errors.ts';
import { normalizeIp } from './ip.ts';
import type { MailAddress, NormalizeOptions, PolicyRequest, ProtocolState } from './request.ts';

const DEFAULT_DELIMITERS: readonly string[] = Object.freeze(['+']);
const NO_DELIMITERS: readonly string[] = Object.freeze([]);
const REQUEST_TYPE = 'smtpd_access_policy';
const STATES: ReadonlySet<string> = new Set<ProtocolState>([
  'CONNECT',
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'END-OF-MESSAGE',
  'VRFY',
  'ETRN',
]);
const DECIMAL = /^\d+$/;
// Longest digit string whose value is always a safe integer (2^53 has 16 digits).
const SAFE_DIGITS = 15;
const EMPTY_ADDRESS: MailAddress = Object.freeze({
  address: '',
  localPart: '',
  domain: '',
  withoutExtension: '',
  valid: false,
});

/**
 * Raw attribute values by position in {@link POSTFIX_ATTRIBUTES} (`undefined`: not sent). Made by the decoder
 * as it reads, or by {@link attributeValues}.
 *
 * @internal
 */
export type AttributeValues = readonly (string | undefined)[];

/** Row positions by field name (and `request`), so each field of the request literal reads its own slot. */
const AT = Object.freeze(
  Object.fromEntries(POSTFIX_ATTRIBUTES.map((row, index) => [row.field ?? row.name, index])) as Record<
    AttributeField | 'request',
    number
  >,
);

/**
 * The raw values of `attrs` by table position.
 *
 * @internal
 */
export function attributeValues(attrs: ReadonlyMap<string, string>): AttributeValues {
  return ATTRIBUTE_NAMES.map((name) => attrs.get(name));
}

// Character classes of isEmail's pattern (address.ts) for ASCII: `\w` (letters of both cases, digits,
// underscore) and the extra characters each part allows. normalize.reference.test.ts holds looksLikeEmail
// and isEmail to the same answers.
const LOCAL_FIRST = 1; // \w - #
const LOCAL = 2; // \w - . + = / # &
const DOMAIN_FIRST = 4; // \w -
const DOMAIN = 8; // \w - .
const TLD = 16; // a-z 0-9 - (the pattern is case-insensitive)
const FORBIDDEN = 32; // ~ ! $ % ^ * ( ) space: never in an address
const SPACE = 64; // what String.prototype.trim removes, in ASCII

const ASCII_CLASS: Readonly<Uint8Array> = (() => {
  const table = new Uint8Array(128);
  const add = (chars: string, bits: number) => {
    for (const c of chars) table[c.charCodeAt(0)]! |= bits;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const word = `${letters}${letters.toUpperCase()}0123456789_`;
  add(word, LOCAL_FIRST | LOCAL | DOMAIN_FIRST | DOMAIN);
  add('-', LOCAL_FIRST | LOCAL | DOMAIN_FIRST | DOMAIN | TLD);
  add('#', LOCAL_FIRST | LOCAL);
  add('.+=/&', LOCAL);
  add('.', DOMAIN);
  add(`${letters}${letters.toUpperCase()}0123456789`, TLD);
  add('~!$%^*() ', FORBIDDEN);
  add('\t\n\v\f\r ', SPACE);
  return table;
})();

// isEmail without regular expressions, for ASCII text (anything else goes to isEmail itself). Same answer
// for every input: trimmed, non-empty, no forbidden character, and a prefix of the form
// local@label.tl (see address.ts).
function looksLikeEmail(value: string): boolean {
  let lo = 0;
  let hi = value.length;
  let forbidden = false;
  for (let i = 0; i < hi; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return isEmail(value); // non-ASCII letters, digits and spaces: the regular expression knows
    if ((ASCII_CLASS[c]! & FORBIDDEN) !== 0) forbidden = true;
  }
  while (lo < hi && (ASCII_CLASS[value.charCodeAt(lo)]! & SPACE) !== 0) lo++;
  while (hi > lo && (ASCII_CLASS[value.charCodeAt(hi - 1)]! & SPACE) !== 0) hi--;
  if (lo === hi) return false;
  // Look again within the trimmed text: the space in FORBIDDEN may have been a leading or trailing one.
  if (forbidden) {
    for (let i = lo; i < hi; i++) if ((ASCII_CLASS[value.charCodeAt(i)]! & FORBIDDEN) !== 0) return false;
  }
  if ((ASCII_CLASS[value.charCodeAt(lo)]! & LOCAL_FIRST) === 0) return false;
  let i = lo + 1;
  while (i < hi && (ASCII_CLASS[value.charCodeAt(i)]! & LOCAL) !== 0) i++;
  if (i >= hi || value.charCodeAt(i) !== 0x40 /* @ */) return false;
  const domain = i + 1;
  if (domain >= hi || (ASCII_CLASS[value.charCodeAt(domain)]! & DOMAIN_FIRST) === 0) return false;
  // Some dot after the domain's first character, within its run of domain characters, followed by two TLD
  // characters (the pattern has no end anchor: more may follow).
  for (let j = domain + 1; j + 2 < hi; j++) {
    const c = value.charCodeAt(j);
    if ((ASCII_CLASS[c]! & DOMAIN) === 0) return false;
    if (
      c === 0x2e /* . */ &&
      (ASCII_CLASS[value.charCodeAt(j + 1)]! & TLD) !== 0 &&
      (ASCII_CLASS[value.charCodeAt(j + 2)]! & TLD) !== 0
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Split an e-mail address from a request into the parts plugins use, as iRedAPD does: the value is
 * lower-cased; the domain is the text after the first `@` (the whole value when there is no `@`); the
 * extension is stripped with `delimiters` (tried in order, as `stripExtension` does) only when the value is a
 * valid address. An invalid value is marked `valid: false`, never rejected. The null sender is `''`.
 *
 * @param value - the attribute value as sent
 * @param delimiters - address extension delimiters; default `['+']`, `[]` disables stripping
 * @example
 * ```ts
 * mailAddress('User+Tag@Example.COM');
 * // → { address: 'user+tag@example.com', localPart: 'user+tag', domain: 'example.com',
 * //     withoutExtension: 'user@example.com', valid: true }
 * ```
 */
export function mailAddress(value: string, delimiters: readonly string[] = DEFAULT_DELIMITERS): MailAddress {
  if (value === '') return EMPTY_ADDRESS;
  const address = value.toLowerCase();
  const valid = looksLikeEmail(address);
  const at = address.indexOf('@');
  return Object.freeze({
    address,
    localPart: at === -1 ? address : address.slice(0, at),
    domain: at === -1 ? address : address.slice(at + 1),
    withoutExtension: valid ? withoutExtension(address, at, delimiters) : address,
    valid,
  });
}

// stripExtension (address.ts) for an address already known to be valid, so it has an `@` at `at`.
function withoutExtension(address: string, at: number, delimiters: readonly string[]): string {
  for (const delimiter of delimiters) {
    if (delimiter === '') continue;
    const cut = address.indexOf(delimiter);
    if (cut !== -1 && cut + delimiter.length <= at) return address.slice(0, cut) + address.slice(at);
  }
  return address;
}

function protocolError(
  message: string,
  reason: 'bad-request-type' | 'bad-protocol-state',
  value: unknown,
): never {
  throw new PolicydError('POLICYD_ERR_PROTOCOL', message, { reason, value });
}

function checkDelimiters(delimiters: unknown): readonly string[] {
  if (!Array.isArray(delimiters) || !delimiters.every((d) => typeof d === 'string' && d !== '')) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `recipientDelimiters must be an array of non-empty strings, got ${JSON.stringify(delimiters)}`,
      { value: delimiters },
    );
  }
  return delimiters;
}

/**
 * Resolve and check {@link NormalizeOptions} once (the decoder does it at creation), so per-request work
 * does not repeat it. Throws `POLICYD_ERR_INVALID_OPTION` for a delimiter list that is not an array of
 * non-empty strings. Internal to the codec; not part of the public API.
 *
 * @internal
 */
export function resolveNormalizeOptions(options: NormalizeOptions = {}): Required<NormalizeOptions> {
  const delimiters = options.recipientDelimiters;
  return { recipientDelimiters: delimiters === undefined ? DEFAULT_DELIMITERS : checkDelimiters(delimiters) };
}

// kind 'string'
function text(raw: string | undefined): string {
  return raw ?? '';
}

// kind 'address'
function address(raw: string | undefined, delimiters: readonly string[]): MailAddress {
  return raw === undefined || raw === '' ? EMPTY_ADDRESS : mailAddress(raw, delimiters);
}

// kind 'number': a non-negative decimal integer (surrounding spaces allowed), else 0.
function number(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const length = raw.length;
  if (length > 0 && length <= SAFE_DIGITS) {
    let value = 0;
    let i = 0;
    for (; i < length; i++) {
      const digit = raw.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === length) return value;
  }
  const trimmed = raw.trim();
  if (!DECIMAL.test(trimmed)) return 0;
  const n = Number(trimmed);
  return Number.isSafeInteger(n) ? n : 0;
}

// kind 'flag'
function flag(raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  return raw === 'yes' || raw.trim().toLowerCase() === 'yes';
}

// A dotted quad in canonical form (no leading zeros, octets up to 255): normalizeIp would return it unchanged,
// and this check is much cheaper than parsing, for the most common client_address.
function isCanonicalIpv4(raw: string): boolean {
  const length = raw.length;
  let i = 0;
  for (let octet = 0; ; octet++) {
    const start = i;
    let value = 0;
    while (i < length && i - start < 4) {
      const digit = raw.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && raw.charCodeAt(start) === 0x30)) {
      return false;
    }
    if (octet === 3) return i === length;
    if (i >= length || raw.charCodeAt(i) !== 0x2e) return false;
    i++;
  }
}

// kind 'ip'
function ip(raw: string | undefined): string {
  if (raw === undefined) return '';
  if (isCanonicalIpv4(raw)) return raw;
  return normalizeIp(raw) ?? raw.trim();
}

// kind 'state'
function state(raw: string | undefined): ProtocolState | 'UNKNOWN' {
  if (raw !== undefined && STATES.has(raw)) return raw as ProtocolState;
  const upper = (raw ?? '').trim().toUpperCase();
  if (upper === '') protocolError('request has no protocol_state', 'bad-protocol-state', raw);
  return STATES.has(upper) ? (upper as ProtocolState) : 'UNKNOWN';
}

/**
 * Build a request from an attribute map the caller hands over and the same values by table position
 * ({@link AttributeValues}): the map is kept as `attrs` without a copy, so it must not be changed afterwards.
 * `options` must come from {@link resolveNormalizeOptions}. The decoder uses this; everyone else uses
 * {@link toPolicyRequest}.
 *
 * @internal
 */
export function normalizeOwned(
  attrs: ReadonlyMap<string, string>,
  values: AttributeValues,
  options: Required<NormalizeOptions>,
): PolicyRequest {
  const type = values[AT.request];
  if (type !== REQUEST_TYPE) {
    protocolError(
      type === undefined
        ? 'request has no request attribute (expected request=smtpd_access_policy)'
        : `unsupported request type ${JSON.stringify(type.slice(0, 64))} (expected smtpd_access_policy)`,
      'bad-request-type',
      type,
    );
  }
  const delimiters = options.recipientDelimiters;
  // One line per POSTFIX_ATTRIBUTES row, in its order, normalised by the row's kind (lowerCase and
  // stripExtension as the row says: reverse_client_name lower-cased; sender and recipient stripped).
  const request: PolicyRequest = {
    protocolState: state(values[AT.protocolState]),
    protocolName: text(values[AT.protocolName]),
    heloName: text(values[AT.heloName]),
    queueId: text(values[AT.queueId]),
    sender: address(values[AT.sender], delimiters),
    recipient: address(values[AT.recipient], delimiters),
    recipientCount: number(values[AT.recipientCount]),
    clientAddress: ip(values[AT.clientAddress]),
    clientName: text(values[AT.clientName]),
    reverseClientName: text(values[AT.reverseClientName]).toLowerCase(),
    instance: text(values[AT.instance]),
    saslMethod: text(values[AT.saslMethod]),
    saslUsername: address(values[AT.saslUsername], NO_DELIMITERS),
    saslSender: text(values[AT.saslSender]),
    size: number(values[AT.size]),
    ccertSubject: text(values[AT.ccertSubject]),
    ccertIssuer: text(values[AT.ccertIssuer]),
    ccertFingerprint: text(values[AT.ccertFingerprint]),
    encryptionProtocol: text(values[AT.encryptionProtocol]),
    encryptionCipher: text(values[AT.encryptionCipher]),
    encryptionKeysize: number(values[AT.encryptionKeysize]),
    etrnDomain: text(values[AT.etrnDomain]),
    stress: flag(values[AT.stress]),
    ccertPubkeyFingerprint: text(values[AT.ccertPubkeyFingerprint]),
    clientPort: number(values[AT.clientPort]),
    policyContext: text(values[AT.policyContext]),
    serverAddress: ip(values[AT.serverAddress]),
    serverPort: number(values[AT.serverPort]),
    compatibilityLevel: text(values[AT.compatibilityLevel]),
    mailVersion: text(values[AT.mailVersion]),
    tlsSni: text(values[AT.tlsSni]),
    attrs,
  };
  return Object.freeze(request);
}

/**
 * Turn decoded attributes into a typed, frozen {@link PolicyRequest}, following {@link POSTFIX_ATTRIBUTES}:
 * - `sender`, `recipient`, `sasl_username` become {@link MailAddress}es (see {@link mailAddress}); only sender
 *   and recipient have their extension stripped. `reverse_client_name` is lower-cased; other text is kept as
 *   sent, `''` when absent.
 * - `client_address` and `server_address` are canonical IPs (IPv4-mapped IPv6 becomes IPv4); a value that is
 *   not an IP address is kept, trimmed, for plugins to judge.
 * - Numbers are `0` when absent or not a non-negative decimal integer; `stress` is `true` only for `yes`.
 * - `protocol_state` is upper-cased; a value this version does not know becomes `'UNKNOWN'`.
 * - `attrs` is a copy of `attrs`, unknown attributes included.
 *
 * Throws `PolicydError('POLICYD_ERR_PROTOCOL')` with reason `bad-request-type` when `request` is not
 * `smtpd_access_policy` (or absent), and with reason `bad-protocol-state` when `protocol_state` is absent or
 * empty: Postfix always sends both, so such input is not a policy request. Throws
 * `POLICYD_ERR_INVALID_OPTION` for invalid options.
 *
 * @example
 * ```ts
 * const req = toPolicyRequest(new Map([
 *   ['request', 'smtpd_access_policy'], ['protocol_state', 'RCPT'], ['sender', 'Bob+news@Example.com'],
 * ]));
 * req.sender.withoutExtension; // 'bob@example.com'
 * ```
 */
export function toPolicyRequest(
  attrs: ReadonlyMap<string, string>,
  options?: NormalizeOptions,
): PolicyRequest {
  const copy = new Map(attrs);
  return normalizeOwned(copy, attributeValues(copy), resolveNormalizeOptions(options));
}
