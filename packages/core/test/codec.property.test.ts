import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRequestDecoder, type DecoderOptions } from '../src/codec.ts';
import type { PolicydError } from '../src/errors.ts';
import type { PolicyRequest } from '../src/request.ts';

const encoder = new TextEncoder();

interface Outcome {
  readonly requests: Record<string, string>[];
  readonly error: string | undefined;
}

/** Feed chunks until the first error; requests as plain attribute objects for comparison. */
function run(chunks: readonly Uint8Array[], options?: DecoderOptions): Outcome {
  const decoder = createRequestDecoder(options);
  const requests: PolicyRequest[] = [];
  let error: PolicydError | undefined;
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    requests.push(...result.requests);
    error = result.error;
    if (error !== undefined) break;
  }
  return { requests: requests.map((r) => Object.fromEntries(r.attrs)), error: error?.reason };
}

/** Cut `bytes` at the given offsets (any order, duplicates allowed: empty chunks must work too). */
function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...offsets.map((o) => o % (bytes.length + 1))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

// Text that may appear in an attribute: any Unicode (multi-byte included) except LF and NUL; a value must not
// end in CR, which the decoder strips as part of a CRLF line end.
const text = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\n\0]/g, ''));
const name = fc.oneof(
  fc.constantFrom(
    'sender',
    'recipient',
    'client_address',
    'helo_name',
    'size',
    'instance',
    'stress',
    'x_unknown',
  ),
  text.map((s) => s.replace(/=/g, '')).filter((s) => s !== ''),
);
const value = text.map((s) => s.replace(/\r+$/, ''));
const request = fc
  .record({
    state: fc.constantFrom('RCPT', 'END-OF-MESSAGE', 'rcpt', 'SOMETHING'),
    attributes: fc.array(fc.tuple(name, value), { maxLength: 12 }),
  })
  .map(({ state, attributes }) => [
    ['request', 'smtpd_access_policy'] as const,
    ['protocol_state', state] as const,
    ...attributes.filter(([n]) => n !== 'request' && n !== 'protocol_state'),
  ]);
const stream = fc.record({
  requests: fc.array(request, { minLength: 1, maxLength: 6 }),
  crlf: fc.boolean(),
  blankLinesBefore: fc.nat({ max: 2 }),
});

function serialise(
  requests: readonly (readonly (readonly [string, string])[])[],
  crlf: boolean,
  blank: number,
) {
  const eol = crlf ? '\r\n' : '\n';
  const body = requests.map((attrs) => `${attrs.map(([n, v]) => `${n}=${v}${eol}`).join('')}${eol}`).join('');
  return encoder.encode(eol.repeat(blank) + body);
}

describe('decoder properties', () => {
  it('decodes any chunking of a valid stream like one chunk, with last-wins attributes', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(), { maxLength: 20 }),
        ({ requests, crlf, blankLinesBefore }, offsets) => {
          const bytes = serialise(requests, crlf, blankLinesBefore);
          const whole = run([bytes]);
          expect(whole.error).toBeUndefined();
          expect(whole.requests).toEqual(requests.map((attrs) => Object.fromEntries(attrs)));
          expect(run(cut(bytes, offsets))).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws out of push on random bytes, and stops at its error', () => {
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x0a, 0x0a, 0x0d, 0x3d, 0x00, 0xc3, 0xa9, 0xff, 0x61),
    );
    fc.assert(
      fc.property(
        fc.array(byte, { maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (values, offsets) => {
          const bytes = Uint8Array.from(values);
          const decoder = createRequestDecoder({ maxLineBytes: 64, maxRequestBytes: 256, maxAttributes: 8 });
          let error: PolicydError | undefined;
          for (const chunk of cut(bytes, offsets)) {
            const result = decoder.push(chunk);
            expect(Array.isArray(result.requests)).toBe(true);
            if (error !== undefined) expect(result).toEqual({ requests: [], error });
            if (result.error !== undefined) {
              expect(result.error.code).toBe('POLICYD_ERR_PROTOCOL');
              expect(result.error.reason).toBeTypeOf('string');
              error = result.error;
            }
          }
          expect(decoder.pendingBytes).toBeLessThanOrEqual(256 + 64);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same outcome for any chunking of random input, errors included', () => {
    // Mostly well-formed lines of random length, so limits are reached as often as malformed bytes.
    const byte = fc.constantFrom(0x0a, 0x0d, 0x3d, 0x00, 0xc3, 0xa9, 0xff, 0x61, 0x62);
    const piece = fc.oneof(
      { weight: 3, arbitrary: fc.nat({ max: 24 }).map((n) => encoder.encode(`a=${'v'.repeat(n)}\n`)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(byte, { maxLength: 6 }).map((b) => Uint8Array.from(b)) },
      { weight: 1, arbitrary: fc.constant(encoder.encode('\n')) },
    );
    const prefix = encoder.encode('request=smtpd_access_policy\nprotocol_state=RCPT\n');
    const limits = fc.record({
      maxLineBytes: fc.integer({ min: 1, max: 40 }),
      maxRequestBytes: fc.integer({ min: 1, max: 200 }),
      maxAttributes: fc.integer({ min: 1, max: 12 }),
    });
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 16 }),
        limits,
        fc.array(fc.nat(), { maxLength: 10 }),
        (pieces, options, offsets) => {
          const bytes = new Uint8Array(Buffer.concat([prefix, ...pieces]));
          expect(run(cut(bytes, offsets), options)).toEqual(run([bytes], options));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('decoder splitting', () => {
  const full = new Uint8Array(
    readFileSync(new URL('./fixtures/requests/rcpt-postfix-3.12.txt', import.meta.url)),
  );
  const expected = run([full]);

  it('decodes the full Postfix request split in two at every byte offset', () => {
    expect(expected.requests).toHaveLength(1);
    for (let at = 0; at <= full.length; at++) {
      expect(run([full.subarray(0, at), full.subarray(at)])).toEqual(expected);
    }
  });

  it('decodes a UTF-8 request split in two at every byte offset, inside characters too', () => {
    const bytes = encoder.encode(
      'request=smtpd_access_policy\nprotocol_state=RCPT\nsender=jürgen@bücher.example\nhelo_name=😀\n\n',
    );
    const want = run([bytes]);
    expect(want.requests[0]?.helo_name).toBe('😀');
    for (let at = 0; at <= bytes.length; at++) {
      expect(run([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(want);
    }
  });

  it('decodes 100 requests in one chunk, in order', () => {
    let text = '';
    for (let i = 0; i < 100; i++) {
      text += `request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=user${i}@example.com\ninstance=${i}\n\n`;
    }
    const decoder = createRequestDecoder();
    const result = decoder.push(encoder.encode(text));
    expect(result.error).toBeUndefined();
    expect(result.requests.map((r) => r.recipient.address)).toEqual(
      Array.from({ length: 100 }, (_, i) => `user${i}@example.com`),
    );
    expect(decoder.pendingBytes).toBe(0);
  });
});
