/**
 * The decoded, normalised form of one policy request.
 *
 * Known Postfix attributes (2.1 – 3.12) are typed fields; every attribute exactly as Postfix sent it is kept in
 * {@link PolicyRequest.attrs}. Normalisation follows iRedAPD: sender, recipient, sasl_username and
 * reverse_client_name are lower-cased, the domain is the text after the first `@`, the extension is stripped
 * with the configured delimiters, and an invalid address is marked, never answered.
 */

/** SMTP protocol states Postfix asks about. */
export type ProtocolState =
  | 'CONNECT'
  | 'EHLO'
  | 'HELO'
  | 'MAIL'
  | 'RCPT'
  | 'DATA'
  | 'END-OF-MESSAGE'
  | 'VRFY'
  | 'ETRN';

/** An e-mail address from the request, with what plugins derive from it. */
export interface MailAddress {
  /** Lower-cased value as sent; `''` for the null sender or when absent. */
  readonly address: string;
  /** Text before the first `@`. */
  readonly localPart: string;
  /** Text after the first `@` (the whole value when there is no `@`), lower-cased. */
  readonly domain: string;
  /** The address with its extension (`user+tag@…` → `user@…`) removed; unchanged when not {@link valid}. */
  readonly withoutExtension: string;
  /** Whether the value passes iRedAPD's e-mail predicate. Plugins decide what an invalid value means. */
  readonly valid: boolean;
}

/** One decoded policy request. */
export interface PolicyRequest {
  /** `protocol_state`, upper-cased; `'UNKNOWN'` for a value this version does not know. */
  readonly protocolState: ProtocolState | 'UNKNOWN';
  /** `protocol_name`: `SMTP`, `ESMTP`, … */
  readonly protocolName: string;
  /** `helo_name`, as sent. */
  readonly heloName: string;
  /** `queue_id` (often empty before END-OF-MESSAGE). */
  readonly queueId: string;
  /** `sender` (MAIL FROM); `address === ''` for the null sender. */
  readonly sender: MailAddress;
  /** `recipient` (RCPT TO); empty at END-OF-MESSAGE unless exactly one recipient was accepted. */
  readonly recipient: MailAddress;
  /** `recipient_count`: non-zero only at DATA and END-OF-MESSAGE. */
  readonly recipientCount: number;
  /** `client_address`, canonical: IPv4-mapped IPv6 becomes IPv4; `''` when absent. Raw value in `attrs`. */
  readonly clientAddress: string;
  /** `client_name` (verified reverse name or `unknown`), as sent. */
  readonly clientName: string;
  /** `reverse_client_name`, lower-cased. */
  readonly reverseClientName: string;
  /** `client_port` (Postfix 3.0+); 0 when absent. */
  readonly clientPort: number;
  /** `instance`: the same for every request about one message. */
  readonly instance: string;
  /** `sasl_method`; empty unless the client authenticated. */
  readonly saslMethod: string;
  /** `sasl_username`, lower-cased; `address === ''` unless the client authenticated. */
  readonly saslUsername: MailAddress;
  /** `sasl_sender`, as sent. */
  readonly saslSender: string;
  /** `size`: MAIL FROM SIZE= at RCPT, the real size at END-OF-MESSAGE; 0 when absent. */
  readonly size: number;
  /** `ccert_subject` (xtext-encoded by Postfix). */
  readonly ccertSubject: string;
  /** `ccert_issuer`. */
  readonly ccertIssuer: string;
  /** `ccert_fingerprint`. */
  readonly ccertFingerprint: string;
  /** `ccert_pubkey_fingerprint` (Postfix 2.9+). */
  readonly ccertPubkeyFingerprint: string;
  /** `encryption_protocol`, e.g. `TLSv1.3`; empty without TLS. */
  readonly encryptionProtocol: string;
  /** `encryption_cipher`. */
  readonly encryptionCipher: string;
  /** `encryption_keysize`; 0 without TLS. */
  readonly encryptionKeysize: number;
  /** `etrn_domain`. */
  readonly etrnDomain: string;
  /** `stress=yes`: Postfix is under load. */
  readonly stress: boolean;
  /** `policy_context` (Postfix 3.1+). */
  readonly policyContext: string;
  /** `server_address` (Postfix 3.2+). */
  readonly serverAddress: string;
  /** `server_port` (Postfix 3.2+); 0 when absent. */
  readonly serverPort: number;
  /** `compatibility_level` (Postfix 3.8+). */
  readonly compatibilityLevel: string;
  /** `mail_version` (Postfix 3.8+). */
  readonly mailVersion: string;
  /** `tls_sni` (Postfix 3.12+). */
  readonly tlsSni: string;
  /** Every attribute exactly as sent (for a repeated name, the last value), unknown ones included. */
  readonly attrs: ReadonlyMap<string, string>;
}

/** How requests are normalised. */
export interface NormalizeOptions {
  /** Address extension delimiters, tried in order (iRedAPD's `RECIPIENT_DELIMITERS`). Default `['+']`. */
  readonly recipientDelimiters?: readonly string[];
}
