import { describe, expect, it } from 'vitest';
import {
  createRequestDecoder,
  DEFAULT_DECODER_LIMITS,
  type DecoderOptions,
  formatResponse,
  parseRequest,
} from './codec.ts';
import { Decision } from './decision.ts';
import { isPolicydError, type PolicydError } from './errors.ts';

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const HEAD = 'request=smtpd_access_policy\nprotocol_state=RCPT\n';

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (error) {
    if (isPolicydError(error)) return error;
    throw error;
  }
  throw new Error('expected a PolicydError');
}

describe('createRequestDecoder', () => {
  it('has the documented default limits, frozen', () => {
    expect(DEFAULT_DECODER_LIMITS).toEqual({
      maxLineBytes: 16_384,
      maxRequestBytes: 65_536,
      maxAttributes: 100,
    });
    expect(Object.isFrozen(DEFAULT_DECODER_LIMITS)).toBe(true);
  });

  it.each<[string, DecoderOptions]>([
    ['maxLineBytes 0', { maxLineBytes: 0 }],
    ['maxRequestBytes -1', { maxRequestBytes: -1 }],
    ['maxAttributes 1.5', { maxAttributes: 1.5 }],
    ['maxLineBytes NaN', { maxLineBytes: Number.NaN }],
    ['maxLineBytes Infinity', { maxLineBytes: Number.POSITIVE_INFINITY }],
    ['maxLineBytes as a string', { maxLineBytes: '100' as unknown as number }],
    ['an empty delimiter', { recipientDelimiters: [''] }],
    ['delimiters not in an array', { recipientDelimiters: '+' as unknown as string[] }],
  ])('refuses %s with POLICYD_ERR_INVALID_OPTION', (_, options) => {
    const error = thrown(() => createRequestDecoder(options));
    expect(error.code).toBe('POLICYD_ERR_INVALID_OPTION');
  });

  it('names the offending option and value', () => {
    expect(thrown(() => createRequestDecoder({ maxAttributes: 0 })).message).toMatch(/maxAttributes.*0/);
  });

  it('returns the requests a chunk completes, in order, and keeps the rest pending', () => {
    const decoder = createRequestDecoder();
    const first = decoder.push(bytes(`${HEAD}sender=a@example.org\n\n${HEAD}sender=b@exa`));
    expect(first.error).toBeUndefined();
    expect(first.requests.map((r) => r.sender.address)).toEqual(['a@example.org']);
    expect(decoder.pendingBytes).toBe(HEAD.length + 'sender=b@exa'.length);
    const second = decoder.push(bytes('mple.org\n\n'));
    expect(second.requests.map((r) => r.sender.address)).toEqual(['b@example.org']);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('returns no error key when there is no error', () => {
    expect(createRequestDecoder().push(bytes(`${HEAD}\n`))).not.toHaveProperty('error');
  });

  it('keeps requests of separate decoders apart', () => {
    const a = createRequestDecoder();
    const b = createRequestDecoder();
    a.push(bytes(`${HEAD}sender=a@example.org\n`));
    b.push(bytes(`${HEAD}sender=b@example.org\n`));
    expect(a.push(bytes('\n')).requests[0]?.sender.address).toBe('a@example.org');
    expect(b.push(bytes('\n')).requests[0]?.sender.address).toBe('b@example.org');
  });

  it('starts every request from nothing: attributes do not leak into the next request', () => {
    const { requests } = createRequestDecoder().push(
      bytes(`${HEAD}sasl_username=bob@example.org\n\n${HEAD}\n`),
    );
    expect(requests.map((r) => r.saslUsername.address)).toEqual(['bob@example.org', '']);
  });

  it('strips one trailing CR and keeps a CR inside a value', () => {
    const { requests } = createRequestDecoder().push(bytes(`${HEAD}helo_name=a\rb\r\nqueue_id=q\r\r\n\n`));
    expect(requests[0]?.heloName).toBe('a\rb');
    expect(requests[0]?.queueId).toBe('q\r');
  });

  it('ignores empty lines (LF or CRLF) while no request is pending', () => {
    const decoder = createRequestDecoder();
    expect(decoder.push(bytes('\n\r\n\n'))).toEqual({ requests: [] });
    expect(decoder.push(bytes(`${HEAD}\n\n\n`)).requests).toHaveLength(1);
  });

  it('keeps the last value of a repeated attribute', () => {
    const { requests } = createRequestDecoder().push(bytes(`${HEAD}instance=1\ninstance=2\n\n`));
    expect(requests[0]?.instance).toBe('2');
    expect(requests[0]?.attrs.get('instance')).toBe('2');
  });

  it('decodes a multi-byte character split across chunks', () => {
    const data = bytes(`${HEAD}helo_name=h€llo\n\n`);
    const split = data.indexOf(0xe2) + 1;
    const decoder = createRequestDecoder();
    expect(decoder.push(data.subarray(0, split)).requests).toEqual([]);
    expect(decoder.push(data.subarray(split)).requests[0]?.heloName).toBe('h€llo');
  });

  it('keeps a UTF-8 byte order mark as part of the text', () => {
    const { requests } = createRequestDecoder().push(bytes(`${HEAD}helo_name=\uFEFFx\n\n`));
    expect(requests[0]?.heloName).toBe('\uFEFFx');
  });

  it('does not keep a reference to the caller chunks for a pending line', () => {
    const decoder = createRequestDecoder();
    const first = bytes(`${HEAD}sender=a@exa`);
    const second = bytes('mple.org');
    decoder.push(first);
    decoder.push(second);
    first.fill(0x7a);
    second.fill(0x7a);
    expect(decoder.push(bytes('\n\n')).requests[0]?.sender.address).toBe('a@example.org');
  });

  it.each([
    ['a line without "="', 'hello\n', 'missing-equals', /hello/],
    ['a line with an empty name', '=value\n', 'empty-name', /=value/],
    ['a NUL byte', 'helo_name=a\0b\n', 'nul-byte', /NUL/],
  ])('refuses %s with a message that says what was wrong', (_, line, reason, message) => {
    const result = createRequestDecoder().push(bytes(`${HEAD}${line}\n`));
    expect(result.error?.code).toBe('POLICYD_ERR_PROTOCOL');
    expect(result.error?.reason).toBe(reason);
    expect(result.error?.message).toMatch(message);
  });

  it('refuses invalid UTF-8 in a line also when the chunk holds other text', () => {
    const data = new Uint8Array([
      ...bytes(`${HEAD}helo_name=é\n\n${HEAD}sender=`),
      0xed,
      0xa0,
      0x80,
      0x0a,
      0x0a,
    ]);
    const result = createRequestDecoder().push(data);
    expect(result.requests.map((r) => r.heloName)).toEqual(['é']);
    expect(result.error?.reason).toBe('invalid-utf8');
  });

  it('refuses a NUL in a line that arrived in pieces', () => {
    const decoder = createRequestDecoder();
    expect(decoder.push(bytes(`${HEAD}helo_name=a`)).error).toBeUndefined();
    expect(decoder.push(new Uint8Array([0, 0x62, 0x0a])).error?.reason).toBe('nul-byte');
  });

  it('refuses a request of the wrong type when it completes', () => {
    const result = createRequestDecoder().push(bytes('request=junk\nprotocol_state=RCPT\n\n'));
    expect(result.error?.reason).toBe('bad-request-type');
  });

  it('checks the line limit while the line is still arriving', () => {
    const decoder = createRequestDecoder({ maxLineBytes: 32 });
    expect(decoder.push(bytes(`${HEAD}helo_name=${'x'.repeat(22)}`)).error).toBeUndefined();
    expect(decoder.push(bytes('x')).error?.reason).toBe('line-too-long');
  });

  it('checks the request limit while a line is still arriving', () => {
    const decoder = createRequestDecoder({ maxRequestBytes: HEAD.length + 10 });
    expect(decoder.push(bytes(`${HEAD}a=34567`)).error).toBeUndefined();
    expect(decoder.push(bytes('8')).error).toBeUndefined();
    // 9 bytes and the LF still to come make exactly maxRequestBytes; one byte more cannot fit.
    expect(decoder.push(bytes('9')).error).toBeUndefined();
    expect(decoder.push(bytes('0')).error?.reason).toBe('request-too-large');
  });

  it('reports the limit a line passed first, whatever the chunking', () => {
    const options = { maxLineBytes: 16, maxRequestBytes: 50 };
    const data = bytes(`${'a=1\n'.repeat(10)}b=${'x'.repeat(20)}\n`);
    expect(createRequestDecoder(options).push(data).error?.reason).toBe('request-too-large');
    const decoder = createRequestDecoder(options);
    decoder.push(data.subarray(0, 52));
    expect(decoder.push(data.subarray(52)).error?.reason).toBe('request-too-large');
  });

  it('counts an attribute of one byte against the request limit', () => {
    const result = createRequestDecoder({ maxRequestBytes: HEAD.length + 1 }).push(bytes(`${HEAD}x\n\n`));
    expect(result.error?.reason).toBe('request-too-large');
  });
});

describe('parseRequest', () => {
  it('parses a block with or without the final empty line, LF or CRLF', () => {
    for (const text of [
      `${HEAD}sender=A@Example.org`,
      `${HEAD}sender=A@Example.org\n\n`,
      `${HEAD}sender=A@Example.org\n`,
    ]) {
      expect(parseRequest(text).sender.address).toBe('a@example.org');
      expect(parseRequest(text.replaceAll('\n', '\r\n')).sender.address).toBe('a@example.org');
    }
  });

  it('ignores empty lines before the request and after it', () => {
    expect(parseRequest(`\n\n${HEAD}\n\n\n`).protocolState).toBe('RCPT');
  });

  it('keeps values with "=" and the last value of a repeated attribute', () => {
    const request = parseRequest(`${HEAD}ccert_subject=CN=x\nsize=1\nsize=7\n`);
    expect(request.ccertSubject).toBe('CN=x');
    expect(request.size).toBe(7);
  });

  it('applies normalisation options', () => {
    const request = parseRequest(`${HEAD}recipient=a-b@example.com\n`, { recipientDelimiters: ['-'] });
    expect(request.recipient.withoutExtension).toBe('a@example.com');
  });

  it.each([
    ['a second request', `${HEAD}\n${HEAD}`, 'trailing-data'],
    ['a line without "="', `${HEAD}junk\n`, 'missing-equals'],
    ['an empty name', `${HEAD}=x\n`, 'empty-name'],
    ['a NUL', `${HEAD}helo_name=\0\n`, 'nul-byte'],
    ['a lone surrogate', `${HEAD}helo_name=\uD800\n`, 'invalid-utf8'],
    ['an empty text', '', 'bad-request-type'],
    ['no protocol_state', 'request=smtpd_access_policy\n', 'bad-protocol-state'],
  ])('refuses %s', (_, text, reason) => {
    const error = thrown(() => parseRequest(text));
    expect(error.code).toBe('POLICYD_ERR_PROTOCOL');
    expect(error.reason).toBe(reason);
  });
});

describe('formatResponse', () => {
  it.each([
    [Decision.dunno('no-match'), 'action=DUNNO\n\n'],
    [Decision.ok(), 'action=OK\n\n'],
    [Decision.reject('Blacklisted'), 'action=REJECT Blacklisted\n\n'],
    [
      Decision.reply(451, 'Greylisted, try again later', '4.7.1'),
      'action=451 4.7.1 Greylisted, try again later\n\n',
    ],
    [Decision.prepend('X-Policyd', 'checked'), 'action=PREPEND X-Policyd: checked\n\n'],
  ])('writes one action line and an empty line for %o', (decision, wire) => {
    expect(formatResponse(decision)).toBe(wire);
  });

  it('never lets CR, LF or NUL of a decision text reach the wire', () => {
    const wire = formatResponse(Decision.reject('x\r\naction=OK\n\n\0'));
    expect(wire).toBe('action=REJECT x  action=OK   \n\n');
  });

  it('refuses a malformed decision', () => {
    expect(thrown(() => formatResponse({ action: 'NOPE' } as unknown as Decision)).code).toBe(
      'POLICYD_ERR_INVALID_DECISION',
    );
  });
});
