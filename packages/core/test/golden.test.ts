import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createRequestDecoder,
  DEFAULT_DECODER_LIMITS,
  type DecodeResult,
  type DecoderOptions,
} from '../src/codec.ts';
import type { PolicydError, ProtocolErrorReason } from '../src/errors.ts';
import type { PolicyRequest } from '../src/request.ts';

/**
 * Golden protocol cases: `fixtures/requests/<case>.txt` holds the raw bytes Postfix (or an attacker) sends,
 * `<case>.json` what the decoder must make of them.
 */
interface Golden {
  readonly description: string;
  /** When true, each expected request lists every field, so the decoded request must equal it exactly. */
  readonly complete?: boolean;
  /** Expected requests, in order: the fields of interest; `attrs` (when given) must match exactly. */
  readonly requests: readonly Record<string, unknown>[];
  /** The expected protocol error reason, when the input is refused. */
  readonly error?: ProtocolErrorReason;
  /** Bytes left pending after the input, when checked. */
  readonly pendingBytes?: number;
}

const encoder = new TextEncoder();
const dir = new URL('./fixtures/requests/', import.meta.url);
const names = readdirSync(dir)
  .filter((file) => file.endsWith('.txt'))
  .map((file) => file.slice(0, -'.txt'.length))
  .sort();

function load(name: string): { bytes: Uint8Array; golden: Golden } {
  return {
    bytes: new Uint8Array(readFileSync(new URL(`${name}.txt`, dir))),
    golden: JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as Golden,
  };
}

interface Outcome {
  readonly requests: PolicyRequest[];
  readonly error: PolicydError | undefined;
  readonly pendingBytes: number;
}

/** Feed `chunks` in order, stopping at the first error, as a server would. */
function decode(chunks: Iterable<Uint8Array>, options?: DecoderOptions): Outcome {
  const decoder = createRequestDecoder(options);
  const requests: PolicyRequest[] = [];
  let error: PolicydError | undefined;
  for (const chunk of chunks) {
    const result: DecodeResult = decoder.push(chunk);
    requests.push(...result.requests);
    if (result.error !== undefined) {
      error = result.error;
      break;
    }
  }
  return { requests, error, pendingBytes: decoder.pendingBytes };
}

function* bytewise(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
}

function plain(request: PolicyRequest): Record<string, unknown> {
  return { ...request, attrs: Object.fromEntries(request.attrs) };
}

function check(outcome: Outcome, golden: Golden): void {
  if (golden.error === undefined) {
    expect(outcome.error).toBeUndefined();
  } else {
    expect(outcome.error?.code).toBe('POLICYD_ERR_PROTOCOL');
    expect(outcome.error?.reason).toBe(golden.error);
  }
  expect(outcome.requests).toHaveLength(golden.requests.length);
  golden.requests.forEach((want, i) => {
    const got = plain(outcome.requests[i]!);
    if (golden.complete === true) expect(got).toEqual(want);
    else expect(got).toMatchObject(want);
    if (want.attrs !== undefined) expect(got.attrs).toEqual(want.attrs);
    expect(Object.isFrozen(outcome.requests[i])).toBe(true);
  });
  if (golden.pendingBytes !== undefined) expect(outcome.pendingBytes).toBe(golden.pendingBytes);
}

describe('golden request fixtures', () => {
  it('has fixtures, each with its expectation', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
    for (const name of names) expect(() => load(name)).not.toThrow();
  });

  describe.each(names)('%s', (name) => {
    const { bytes, golden } = load(name);

    it(`decodes in one chunk: ${golden.description}`, () => {
      check(decode([bytes]), golden);
    });

    it('decodes the same when fed one byte at a time', () => {
      check(decode(bytewise(bytes)), golden);
    });

    if (golden.error !== undefined) {
      it('refuses further input after the error', () => {
        const decoder = createRequestDecoder();
        const first = decoder.push(bytes);
        const again = decoder.push(encoder.encode('request=smtpd_access_policy\nprotocol_state=RCPT\n\n'));
        expect(again.requests).toEqual([]);
        expect(again.error).toBe(first.error);
      });
    }
  });
});

const HEAD = 'request=smtpd_access_policy\nprotocol_state=RCPT\n';

describe('generated hostile input', () => {
  it('fails a 1 MB line as soon as it passes maxLineBytes, holding no more than the limit', () => {
    const decoder = createRequestDecoder();
    expect(decoder.push(encoder.encode(`${HEAD}helo_name=`)).error).toBeUndefined();
    const kib = new Uint8Array(1024).fill(0x61);
    let pushed = 'helo_name='.length;
    let failedAt = -1;
    for (let i = 0; i < 1024 && failedAt === -1; i++) {
      const result = decoder.push(kib);
      pushed += kib.length;
      if (result.error !== undefined) {
        expect(result.error.reason).toBe('line-too-long');
        failedAt = pushed;
      } else {
        expect(decoder.pendingBytes).toBeLessThanOrEqual(HEAD.length + DEFAULT_DECODER_LIMITS.maxLineBytes);
      }
    }
    // The first kibibyte that takes the line past 16384 bytes fails it, not the end of the megabyte.
    expect(failedAt).toBeGreaterThan(DEFAULT_DECODER_LIMITS.maxLineBytes);
    expect(failedAt).toBeLessThanOrEqual(DEFAULT_DECODER_LIMITS.maxLineBytes + 1024);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('fails a 1 MB line that arrives in one chunk', () => {
    const line = `helo_name=${'a'.repeat(1024 * 1024)}\n\n`;
    const outcome = decode([encoder.encode(HEAD + line)]);
    expect(outcome.error?.reason).toBe('line-too-long');
    expect(outcome.requests).toEqual([]);
  });

  it('accepts a line of exactly maxLineBytes and refuses one byte more', () => {
    const at = (bytes: number) =>
      decode([encoder.encode(`${HEAD}helo_name=${'h'.repeat(bytes - 'helo_name='.length)}\n\n`)], {
        maxRequestBytes: 1 << 20,
      });
    expect(at(DEFAULT_DECODER_LIMITS.maxLineBytes).requests).toHaveLength(1);
    expect(at(DEFAULT_DECODER_LIMITS.maxLineBytes + 1).error?.reason).toBe('line-too-long');
  });

  it('refuses 10,000 attributes with too-many-attributes', () => {
    let text = HEAD;
    for (let i = 0; i < 10_000; i++) text += `x${i}=${i}\n`;
    const outcome = decode([encoder.encode(`${text}\n`)]);
    expect(outcome.error?.reason).toBe('too-many-attributes');
  });

  it('refuses 10,000 attributes fed in small chunks before reading them all', () => {
    const decoder = createRequestDecoder();
    expect(decoder.push(encoder.encode(HEAD)).error).toBeUndefined();
    let sent = 2;
    let error: PolicydError | undefined;
    while (error === undefined && sent < 10_000) {
      error = decoder.push(encoder.encode(`x${sent}=${sent}\n`)).error;
      sent++;
    }
    expect(error?.reason).toBe('too-many-attributes');
    expect(sent).toBe(DEFAULT_DECODER_LIMITS.maxAttributes + 1);
  });

  it('refuses a request larger than maxRequestBytes made of lines within the line limit', () => {
    const value = 'v'.repeat(1000);
    let text = HEAD;
    for (let i = 0; i < 70; i++) text += `x${i}=${value}\n`;
    const outcome = decode([encoder.encode(`${text}\n`)]);
    expect(outcome.error?.reason).toBe('request-too-large');
  });

  it('counts every line with its LF towards maxRequestBytes, not the final empty line', () => {
    const request = `${HEAD}sender=a@example.org\n`;
    const size = encoder.encode(request).length;
    expect(decode([encoder.encode(`${request}\n`)], { maxRequestBytes: size }).requests).toHaveLength(1);
    expect(decode([encoder.encode(`${request}\n`)], { maxRequestBytes: size - 1 }).error?.reason).toBe(
      'request-too-large',
    );
  });

  it('applies custom limits', () => {
    const outcome = decode([encoder.encode(`${HEAD}a=1\nb=2\n\n`)], { maxAttributes: 3 });
    expect(outcome.error?.reason).toBe('too-many-attributes');
    expect(decode([encoder.encode(`${HEAD}a=1\n\n`)], { maxAttributes: 3 }).requests).toHaveLength(1);
  });

  it('does not let ignored empty lines accumulate', () => {
    const decoder = createRequestDecoder();
    const result = decoder.push(new Uint8Array(1 << 20).fill(0x0a));
    expect(result).toEqual({ requests: [] });
    expect(decoder.pendingBytes).toBe(0);
  });
});
