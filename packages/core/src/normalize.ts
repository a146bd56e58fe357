/**
 * Request normalisation: a decoded attribute map becomes a typed, frozen {@link PolicyRequest}.
 * Driven entirely by {@link POSTFIX_ATTRIBUTES}; the rules follow iRedAPD so that plugins see the same values.
 */

import { domainOf, isEmail, localPartOf, stripExtension } from './address.ts';
import { type AttributeSpec, POSTFIX_ATTRIBUTES } from './attributes.ts';
import { PolicydError } from './errors.ts';
import { normalizeIp } from './ip.ts';
import type { MailAddress, NormalizeOptions, PolicyRequest, ProtocolState } from './request.ts';

const DEFAULT_DELIMITERS: readonly string[] = Object.freeze(['+']);
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
// A dotted quad already in canonical form (no leading zeros): normalizeIp would return it unchanged, and this
// check is much cheaper than parsing, for the most common client_address.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CANONICAL_IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/**
 * Split an e-mail address from a request into the parts plugins use, as iRedAPD does: the value is
 * lower-cased; the domain is the text after the first `@` (the whole value when there is no `@`); the
 * extension is stripped with `delimiters` (tried in order, see {@link stripExtension}) only when the value is a
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
  const address = value.toLowerCase();
  const valid = isEmail(address);
  return Object.freeze({
    address,
    localPart: localPartOf(address),
    domain: domainOf(address),
    withoutExtension: valid && delimiters.length > 0 ? stripExtension(address, delimiters) : address,
    valid,
  });
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

function number(value: string | undefined): number {
  if (value === undefined) return 0;
  const text = value.trim();
  if (!DECIMAL.test(text)) return 0;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : 0;
}

function fieldValue(spec: AttributeSpec, raw: string | undefined, delimiters: readonly string[]): unknown {
  switch (spec.kind) {
    case 'string':
      if (raw === undefined) return '';
      return spec.lowerCase === true ? raw.toLowerCase() : raw;
    case 'address':
      return mailAddress(raw ?? '', spec.stripExtension === true ? delimiters : []);
    case 'number':
      return number(raw);
    case 'flag':
      return raw !== undefined && raw.trim().toLowerCase() === 'yes';
    case 'ip': {
      if (raw === undefined) return '';
      if (CANONICAL_IPV4.test(raw)) return raw;
      return normalizeIp(raw) ?? raw.trim();
    }
    case 'state': {
      const state = (raw ?? '').trim().toUpperCase();
      if (state === '') protocolError('request has no protocol_state', 'bad-protocol-state', raw);
      return STATES.has(state) ? state : 'UNKNOWN';
    }
  }
}

/**
 * Build a request from an attribute map the caller hands over: the map is kept as `attrs` without a copy,
 * so it must not be changed afterwards. `options` must come from {@link resolveNormalizeOptions}.
 * The decoder uses this; everyone else uses {@link toPolicyRequest}.
 *
 * @internal
 */
export function normalizeOwned(
  attrs: ReadonlyMap<string, string>,
  options: Required<NormalizeOptions>,
): PolicyRequest {
  const type = attrs.get('request');
  if (type !== REQUEST_TYPE) {
    protocolError(
      type === undefined
        ? 'request has no request attribute (expected request=smtpd_access_policy)'
        : `unsupported request type ${JSON.stringify(type.slice(0, 64))} (expected smtpd_access_policy)`,
      'bad-request-type',
      type,
    );
  }
  const request: Record<string, unknown> = {};
  for (const spec of POSTFIX_ATTRIBUTES) {
    if (spec.field === undefined) continue;
    request[spec.field] = fieldValue(spec, attrs.get(spec.name), options.recipientDelimiters);
  }
  request.attrs = attrs;
  return Object.freeze(request) as unknown as PolicyRequest;
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
  return normalizeOwned(new Map(attrs), resolveNormalizeOptions(options));
}
