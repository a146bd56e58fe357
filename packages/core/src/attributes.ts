/**
 * The vocabulary of the policy protocol: every attribute Postfix 2.1 – 3.12 sends in an SMTPD access policy
 * request, the {@link PolicyRequest} field it fills and how its value is normalised. This table is the only
 * list of attribute names; `normalize.ts` is driven by it.
 */

import type { MailAddress, PolicyRequest } from './request.ts';

/** The value type of each attribute kind, once normalised. */
export interface AttributeKindValues {
  string: string;
  address: MailAddress;
  number: number;
  flag: boolean;
  state: PolicyRequest['protocolState'];
  ip: string;
}

/**
 * How an attribute value is normalised:
 * - `string`: kept as sent (lower-cased when {@link AttributeSpec.lowerCase} is set); `''` when absent;
 * - `address`: an e-mail address, lower-cased and split into a {@link MailAddress};
 * - `number`: a non-negative decimal integer; `0` when absent or not a number;
 * - `flag`: `true` only for `yes` (any case);
 * - `state`: a protocol state, upper-cased; `'UNKNOWN'` for a value this version does not know;
 * - `ip`: an IP address in canonical form (IPv4-mapped IPv6 becomes IPv4); kept trimmed when not an address.
 */
export type AttributeKind = keyof AttributeKindValues;

/** A Postfix release that added attributes to the policy protocol. */
export type PostfixVersion = '2.1' | '2.2' | '2.3' | '2.5' | '2.9' | '3.0' | '3.1' | '3.2' | '3.8' | '3.12';

/** Every {@link PolicyRequest} field filled from one attribute (that is, all but `attrs`). */
export type AttributeField = Exclude<keyof PolicyRequest, 'attrs'>;

/** The fields whose type is exactly the value type of kind `K`, so a row cannot pair a field with the wrong kind. */
export type AttributeFieldsOfKind<K extends AttributeKind> = {
  [F in AttributeField]: [PolicyRequest[F]] extends [AttributeKindValues[K]]
    ? [AttributeKindValues[K]] extends [PolicyRequest[F]]
      ? F
      : never
    : never;
}[AttributeField];

/** The shape of a table row for attributes of kind `K`; see {@link AttributeSpec}. */
export interface AttributeSpecOfKind<K extends AttributeKind> {
  /** The attribute name on the wire, e.g. `client_address`. */
  readonly name: string;
  /**
   * The {@link PolicyRequest} field it fills. Only `request` has none: it names the request type and is checked
   * (it must be `smtpd_access_policy`), not stored in a field; it stays in `attrs` like every attribute.
   */
  readonly field: AttributeFieldsOfKind<K> | undefined;
  /** How the value is normalised. */
  readonly kind: K;
  /** The Postfix version that started sending it. */
  readonly since: PostfixVersion;
  /** For `string` attributes: lower-case the value (iRedAPD does it for `reverse_client_name`). */
  readonly lowerCase?: boolean;
  /**
   * For `address` attributes: strip the address extension for {@link MailAddress.withoutExtension}.
   * `sender` and `recipient` are stripped; `sasl_username` is a login name and is not, as in iRedAPD.
   */
  readonly stripExtension?: boolean;
}

/** One row of {@link POSTFIX_ATTRIBUTES}: a Postfix attribute, its field, its kind and its Postfix version. */
export type AttributeSpec = { [K in AttributeKind]: AttributeSpecOfKind<K> }[AttributeKind];

// Accepts the table only when every field has a row, so a field added to PolicyRequest without a row here
// is a compile error (the missing field names appear in the message).
function complete<const T extends readonly AttributeSpec[]>(
  table: T &
    ([Exclude<AttributeField, T[number]['field']>] extends [never]
      ? unknown
      : { missing: Exclude<AttributeField, T[number]['field']> }),
): readonly AttributeSpec[] {
  return Object.freeze(table.map((row) => Object.freeze({ ...row })));
}

/**
 * Every attribute Postfix sends in an SMTPD access policy request, in the order of Postfix's
 * SMTPD_POLICY_README, with the {@link PolicyRequest} field it fills, its {@link AttributeKind} and the Postfix
 * version that added it. Attributes not in this table are kept in `attrs` only.
 *
 * @example
 * ```ts
 * POSTFIX_ATTRIBUTES.find((a) => a.name === 'client_port');
 * // → { name: 'client_port', field: 'clientPort', kind: 'number', since: '3.0' }
 * ```
 */
export const POSTFIX_ATTRIBUTES: readonly AttributeSpec[] = complete([
  { name: 'request', field: undefined, kind: 'string', since: '2.1' },
  { name: 'protocol_state', field: 'protocolState', kind: 'state', since: '2.1' },
  { name: 'protocol_name', field: 'protocolName', kind: 'string', since: '2.1' },
  { name: 'helo_name', field: 'heloName', kind: 'string', since: '2.1' },
  { name: 'queue_id', field: 'queueId', kind: 'string', since: '2.1' },
  { name: 'sender', field: 'sender', kind: 'address', since: '2.1', stripExtension: true },
  { name: 'recipient', field: 'recipient', kind: 'address', since: '2.1', stripExtension: true },
  { name: 'recipient_count', field: 'recipientCount', kind: 'number', since: '2.1' },
  { name: 'client_address', field: 'clientAddress', kind: 'ip', since: '2.1' },
  { name: 'client_name', field: 'clientName', kind: 'string', since: '2.1' },
  { name: 'reverse_client_name', field: 'reverseClientName', kind: 'string', since: '2.1', lowerCase: true },
  { name: 'instance', field: 'instance', kind: 'string', since: '2.1' },
  { name: 'sasl_method', field: 'saslMethod', kind: 'string', since: '2.2' },
  { name: 'sasl_username', field: 'saslUsername', kind: 'address', since: '2.2' },
  { name: 'sasl_sender', field: 'saslSender', kind: 'string', since: '2.2' },
  { name: 'size', field: 'size', kind: 'number', since: '2.2' },
  { name: 'ccert_subject', field: 'ccertSubject', kind: 'string', since: '2.2' },
  { name: 'ccert_issuer', field: 'ccertIssuer', kind: 'string', since: '2.2' },
  { name: 'ccert_fingerprint', field: 'ccertFingerprint', kind: 'string', since: '2.2' },
  { name: 'encryption_protocol', field: 'encryptionProtocol', kind: 'string', since: '2.3' },
  { name: 'encryption_cipher', field: 'encryptionCipher', kind: 'string', since: '2.3' },
  { name: 'encryption_keysize', field: 'encryptionKeysize', kind: 'number', since: '2.3' },
  { name: 'etrn_domain', field: 'etrnDomain', kind: 'string', since: '2.3' },
  { name: 'stress', field: 'stress', kind: 'flag', since: '2.5' },
  { name: 'ccert_pubkey_fingerprint', field: 'ccertPubkeyFingerprint', kind: 'string', since: '2.9' },
  { name: 'client_port', field: 'clientPort', kind: 'number', since: '3.0' },
  { name: 'policy_context', field: 'policyContext', kind: 'string', since: '3.1' },
  { name: 'server_address', field: 'serverAddress', kind: 'ip', since: '3.2' },
  { name: 'server_port', field: 'serverPort', kind: 'number', since: '3.2' },
  { name: 'compatibility_level', field: 'compatibilityLevel', kind: 'string', since: '3.8' },
  { name: 'mail_version', field: 'mailVersion', kind: 'string', since: '3.8' },
  { name: 'tls_sni', field: 'tlsSni', kind: 'string', since: '3.12' },
]);

/**
 * The attribute names of {@link POSTFIX_ATTRIBUTES}, in table order: `ATTRIBUTE_NAMES[i]` is the name of row
 * `i`. The decoder stores these strings as `attrs` keys rather than slices of the input: their hash is
 * computed once, not per request.
 *
 * @internal
 */
export const ATTRIBUTE_NAMES: readonly string[] = Object.freeze(POSTFIX_ATTRIBUTES.map((row) => row.name));

// attributeIndex's lookup table, a hash table with chaining: rows bucketed by a cheap hash of the name's
// length, first and last bytes (no two names share all three today, but nothing depends on it). Typed arrays
// cannot be frozen; these are written here once and only read afterwards.
const BUCKETS = 256;
const NO_ROW = -1;
const NAME_BYTES: readonly Uint8Array[] = Object.freeze(
  ATTRIBUTE_NAMES.map((name) => Uint8Array.from(name, (c) => c.charCodeAt(0))), // the names are ASCII
);

function bucketOf(length: number, first: number, last: number): number {
  return (length * 4 + first + last * 7) & (BUCKETS - 1);
}

// FIRST_ROW[bucket]: a row in the bucket; NEXT_ROW[row]: the next row in the same bucket (NO_ROW ends both).
const [FIRST_ROW, NEXT_ROW] = ((): readonly [Int16Array, Int16Array] => {
  const first = new Int16Array(BUCKETS).fill(NO_ROW);
  const next = new Int16Array(NAME_BYTES.length).fill(NO_ROW);
  NAME_BYTES.forEach((name, row) => {
    const bucket = bucketOf(name.length, name[0]!, name[name.length - 1]!);
    next[row] = first[bucket]!;
    first[bucket] = row;
  });
  return [first, next];
})();

/**
 * The position in {@link POSTFIX_ATTRIBUTES} of the attribute whose name is the bytes `bytes[start, end)`, or -1
 * for a name the table does not have (any non-ASCII byte included). Looks at the bytes in place: no string is
 * made and no hash computed, which is cheaper than either. Requires `start < end`.
 *
 * @internal
 */
export function attributeIndex(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let row = FIRST_ROW[bucketOf(length, bytes[start]!, bytes[end - 1]!)]!;
  while (row !== NO_ROW) {
    const name = NAME_BYTES[row]!;
    if (name.length === length) {
      let i = 0;
      while (i < length && name[i] === bytes[start + i]) i++;
      if (i === length) return row;
    }
    row = NEXT_ROW[row]!;
  }
  return -1;
}
