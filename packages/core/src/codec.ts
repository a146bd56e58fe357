/**
 * The policy protocol codec: bytes from Postfix become {@link PolicyRequest}s, a {@link Decision} becomes the
 * reply text. No sockets, timers or logging here.
 *
 * Grammar (Postfix `attr_scan_plain`): a request is a sequence of `name=value` lines ended by an empty line.
 * - A line ends with LF; a CR before the LF is dropped, so CRLF input works.
 * - The line is split at its first `=`: the value may contain `=`, the name may not be empty.
 * - A line without `=`, a NUL byte, bytes that are not UTF-8, or input over a limit is a protocol error:
 *   the caller closes the connection without replying, so Postfix applies its `default_action`.
 * - An empty line with no attribute before it is ignored (it is not a request).
 * - An attribute sent twice keeps its last value.
 */

import { isAscii } from 'node:buffer';
import { ATTRIBUTE_NAMES, attributeIndex } from './attributes.ts';
import { type Decision, toAction } from './decision.ts';
import { PolicydError, type ProtocolErrorReason } from './errors.ts';
import { attributeValues, normalizeOwned, resolveNormalizeOptions } from './normalize.ts';
import type { NormalizeOptions, PolicyRequest } from './request.ts';

/** Bounds on what one connection may make the decoder hold. Exceeding one is a protocol error. */
export interface DecoderLimits {
  /** Longest line in bytes, not counting its LF (a CR before the LF counts). Default 16384. */
  readonly maxLineBytes: number;
  /** Largest request in bytes: all its lines with their LFs, not counting the final empty line. Default 65536. */
  readonly maxRequestBytes: number;
  /** Most attribute lines in one request, repeated names included. Default 100. */
  readonly maxAttributes: number;
}

/** The default {@link DecoderLimits}: 16 KiB per line, 64 KiB per request, 100 attributes. */
export const DEFAULT_DECODER_LIMITS: Readonly<DecoderLimits> = Object.freeze({
  maxLineBytes: 16_384,
  maxRequestBytes: 65_536,
  maxAttributes: 100,
});

/** Options of {@link createRequestDecoder}: limits (defaults in {@link DEFAULT_DECODER_LIMITS}) and normalisation. */
export interface DecoderOptions extends Partial<DecoderLimits>, NormalizeOptions {}

/** What one {@link RequestDecoder.push} produced. */
export interface DecodeResult {
  /** Requests completed by the chunk, in order (on an error, those completed before it). */
  readonly requests: PolicyRequest[];
  /** A `POLICYD_ERR_PROTOCOL` error with its `reason`; set once, then returned for every later push. */
  readonly error?: PolicydError;
}

/** A streaming decoder for one connection. */
export interface RequestDecoder {
  /**
   * Feed one chunk. Returns the requests completed by it, in order; on a protocol error, the requests before
   * it plus `error`; the decoder then refuses further input. Never throws on any input.
   */
  push(chunk: Uint8Array): DecodeResult;
  /** Bytes held for an incomplete request (complete lines of it plus the incomplete line). */
  readonly pendingBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
// Shared by every decoder: it is only used in one-shot mode (no `stream` option), which keeps no state
// between calls. One per decoder would cost each connection a few KB of native memory.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function limit(options: DecoderOptions, name: keyof DecoderLimits): number {
  const value = options[name] ?? DEFAULT_DECODER_LIMITS[name];
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `${name} must be a positive integer, got ${String(value)}`,
      {
        value,
      },
    );
  }
  return value;
}

// A short, escaped excerpt of offending input for error messages.
function preview(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function protocolError(reason: ProtocolErrorReason, message: string, value?: unknown): PolicydError {
  return new PolicydError(
    'POLICYD_ERR_PROTOCOL',
    message,
    value === undefined ? { reason } : { reason, value },
  );
}

/**
 * Create a streaming request decoder for one connection. Chunks may split a request (or a UTF-8 character)
 * at any byte, and one chunk may hold many requests. Limits are checked as bytes arrive: an over-long line
 * fails as soon as it passes `maxLineBytes`, without being buffered. Throws `POLICYD_ERR_INVALID_OPTION`
 * for a limit that is not a positive integer or bad normalisation options.
 *
 * For an attribute sent twice in one request, the last value wins (in the typed field and in `attrs`).
 *
 * @example
 * ```ts
 * const decoder = createRequestDecoder({ maxLineBytes: 4096 });
 * socket.on('data', (chunk) => {
 *   const { requests, error } = decoder.push(chunk);
 *   for (const request of requests) answer(request);
 *   if (error) socket.destroy(); // no reply: Postfix applies its default_action
 * });
 * ```
 */
export function createRequestDecoder(options: DecoderOptions = {}): RequestDecoder {
  const maxLineBytes = limit(options, 'maxLineBytes');
  const maxRequestBytes = limit(options, 'maxRequestBytes');
  const maxAttributes = limit(options, 'maxAttributes');
  const normalize = resolveNormalizeOptions(options);

  let failed: PolicydError | undefined;
  // The incomplete last line, as copied pieces (joined once, when its LF arrives).
  let partial: Buffer[] = [];
  let partialBytes = 0;
  // The request being read: its attributes, and the known ones again by table position (see normalizeOwned).
  let attrs = new Map<string, string>();
  const values: (string | undefined)[] = ATTRIBUTE_NAMES.map(() => undefined);
  let count = 0;
  let requestBytes = 0;
  // Requests completed during the current push.
  let out: PolicyRequest[] = [];

  function fail(error: PolicydError): false {
    failed = error;
    partial = [];
    partialBytes = 0;
    attrs = new Map();
    values.fill(undefined);
    count = 0;
    requestBytes = 0;
    return false;
  }

  // Size checks for a line of `bytes` bytes, run before its content is looked at. Also run while the line is
  // incomplete, so an over-long line fails without being held. A line of at most one byte may be an empty
  // line (a lone CR), which never counts towards the request; line() checks those once it knows. When both
  // limits are passed, the reason is the limit the line passed first as its bytes arrived, so that it does
  // not depend on how the input was chunked.
  function checkSize(bytes: number): boolean {
    const overRequest = bytes > 1 && requestBytes + bytes + 1 > maxRequestBytes;
    if (bytes > maxLineBytes) {
      // The line length at which each limit is first passed (the request limit is checked from 2 bytes on).
      if (overRequest && Math.max(maxRequestBytes - requestBytes, 2) <= maxLineBytes) return tooLarge();
      return fail(
        protocolError('line-too-long', `line longer than maxLineBytes (${maxLineBytes} bytes)`, bytes),
      );
    }
    return overRequest ? tooLarge() : true;
  }

  function tooLarge(): false {
    return fail(
      protocolError('request-too-large', `request larger than maxRequestBytes (${maxRequestBytes} bytes)`),
    );
  }

  function finish(): boolean {
    const request = attrs;
    attrs = new Map();
    count = 0;
    requestBytes = 0;
    try {
      out.push(normalizeOwned(request, values, normalize));
      return true;
    } catch (error) {
      if (error instanceof PolicydError) return fail(error);
      throw error;
    } finally {
      values.fill(undefined);
    }
  }

  // One complete line: text[start, stop) with its CR still on, `bytes` bytes long, read from raw[rawStart…].
  // checkSize, NUL and UTF-8 checks have been done.
  function line(
    text: string,
    start: number,
    stop: number,
    bytes: number,
    raw: Uint8Array,
    rawStart: number,
  ): boolean {
    const end = stop > start && text.charCodeAt(stop - 1) === CR ? stop - 1 : stop;
    if (end === start) return count > 0 ? finish() : true;
    requestBytes += bytes + 1;
    if (requestBytes > maxRequestBytes) return tooLarge();
    if (++count > maxAttributes) {
      return fail(
        protocolError('too-many-attributes', `request has more than maxAttributes (${maxAttributes}) lines`),
      );
    }
    const eq = text.indexOf('=', start);
    if (eq === -1 || eq >= end) {
      const bad = text.slice(start, end);
      return fail(protocolError('missing-equals', `line without "=": ${preview(bad)}`, bad));
    }
    if (eq === start) {
      const bad = text.slice(start, end);
      return fail(protocolError('empty-name', `line with an empty attribute name: ${preview(bad)}`, bad));
    }
    const value = text.slice(eq + 1, end);
    // Byte offsets are character offsets until the first non-ASCII character; a name that has one takes more
    // bytes than characters, so the bytes looked at include a non-ASCII one and match no table name.
    const index = attributeIndex(raw, rawStart, rawStart + (eq - start));
    if (index === -1) {
      attrs.set(text.slice(start, eq), value);
    } else {
      // The table's own string as the key: its hash is already known, unlike a fresh slice's.
      attrs.set(ATTRIBUTE_NAMES[index]!, value);
      values[index] = value;
    }
    return true;
  }

  // One complete line as bytes, without its LF.
  function lineBytes(bytes: Buffer): boolean {
    if (!checkSize(bytes.length)) return false;
    if (bytes.indexOf(0) !== -1) return fail(protocolError('nul-byte', 'line contains a NUL byte'));
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      return fail(protocolError('invalid-utf8', 'line is not valid UTF-8'));
    }
    return line(text, 0, text.length, bytes.length, bytes, 0);
  }

  // Complete lines (LF-separated, without the last LF). Fast path: plain ASCII without NUL is decoded once
  // and split as text (a line's byte length is then its string length); anything else goes line by line,
  // which finds the offending line.
  function lines(region: Buffer): boolean {
    if (region.indexOf(0) === -1 && isAscii(region)) {
      const text = region.toString('latin1');
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        const stop = nl === -1 ? text.length : nl;
        if (!checkSize(stop - start) || !line(text, start, stop, stop - start, region, start)) return false;
        if (nl === -1) return true;
        start = nl + 1;
      }
    }
    let start = 0;
    for (;;) {
      const nl = region.indexOf(LF, start);
      const stop = nl === -1 ? region.length : nl;
      if (!lineBytes(region.subarray(start, stop))) return false;
      if (nl === -1) return true;
      start = nl + 1;
    }
  }

  function consume(chunk: Buffer): void {
    let pos = 0;
    if (partialBytes > 0) {
      const nl = chunk.indexOf(LF);
      const head = chunk.subarray(0, nl === -1 ? chunk.length : nl);
      if (!checkSize(partialBytes + head.length)) return;
      if (nl === -1) {
        partial.push(Buffer.from(chunk)); // a copy: the chunk's memory is not ours to keep
        partialBytes += chunk.length;
        return;
      }
      partial.push(head);
      const whole = Buffer.concat(partial, partialBytes + head.length);
      partial = [];
      partialBytes = 0;
      if (!lineBytes(whole)) return;
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= pos) {
      if (!lines(chunk.subarray(pos, last))) return;
      pos = last + 1;
    }
    if (pos < chunk.length) {
      const tail = chunk.subarray(pos);
      if (!checkSize(tail.length)) return;
      partial.push(Buffer.from(tail));
      partialBytes = tail.length;
    }
  }

  return {
    push(chunk: Uint8Array): DecodeResult {
      if (failed !== undefined) return { requests: [], error: failed };
      out = [];
      // Buffer's indexOf is native; a plain Uint8Array's is much slower. Wrapping does not copy.
      consume(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      const requests = out;
      out = [];
      return failed === undefined ? { requests } : { requests, error: failed };
    },
    get pendingBytes(): number {
      return requestBytes + partialBytes;
    },
  };
}

/**
 * Parse one request given as text: `name=value` lines, with or without the final empty line, LF or CRLF.
 * Meant for tests and tools; servers use {@link createRequestDecoder}. Throws `POLICYD_ERR_PROTOCOL` for a line
 * without `=`, an empty name, a NUL, text that cannot be UTF-8 (lone surrogates), a non-empty line after the
 * request's empty line (`trailing-data`), and for the request checks of {@link toPolicyRequest}.
 * An attribute given twice keeps its last value.
 *
 * @example
 * ```ts
 * const req = parseRequest('request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@example.com\n\n');
 * req.protocolState; // 'RCPT'
 * ```
 */
export function parseRequest(text: string, options?: NormalizeOptions): PolicyRequest {
  const normalize = resolveNormalizeOptions(options);
  if (!text.isWellFormed()) throw protocolError('invalid-utf8', 'request text has a lone surrogate');
  const attrs = new Map<string, string>();
  let ended = false;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      ended = attrs.size > 0;
      continue;
    }
    if (ended)
      throw protocolError('trailing-data', `text after the request's empty line: ${preview(line)}`, line);
    if (line.includes('\0'))
      throw protocolError('nul-byte', `line contains a NUL byte: ${preview(line)}`, line);
    const eq = line.indexOf('=');
    if (eq === -1) throw protocolError('missing-equals', `line without "=": ${preview(line)}`, line);
    if (eq === 0)
      throw protocolError('empty-name', `line with an empty attribute name: ${preview(line)}`, line);
    attrs.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return normalizeOwned(attrs, attributeValues(attrs), normalize);
}

/**
 * The reply for a decision: `action=<text>` and an empty line, where `<text>` is {@link toAction}'s sanitised
 * access(5) text (never CR, LF or NUL). Throws `POLICYD_ERR_INVALID_DECISION` for a malformed decision.
 *
 * @example
 * ```ts
 * formatResponse(Decision.reject('Blacklisted')); // 'action=REJECT Blacklisted\n\n'
 * ```
 */
export function formatResponse(decision: Decision): string {
  return `action=${toAction(decision)}\n\n`;
}
