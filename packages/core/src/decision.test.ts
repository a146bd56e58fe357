import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatResponse } from './codec.ts';
import { assertDecision, Decision, sanitizeText, toAction } from './decision.ts';
import { isPolicydError, type PolicydError } from './errors.ts';

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (error) {
    if (isPolicydError(error)) return error;
    throw error;
  }
  throw new Error('expected a PolicydError');
}

function invalid(fn: () => unknown): void {
  expect(thrown(fn).code).toBe('POLICYD_ERR_INVALID_DECISION');
}

describe('Decision constructors and toAction', () => {
  it.each<[string, Decision, object, string]>([
    ['dunno', Decision.dunno(), { action: 'DUNNO' }, 'DUNNO'],
    ['ok', Decision.ok(), { action: 'OK' }, 'OK'],
    ['reject without text', Decision.reject(), { action: 'REJECT' }, 'REJECT'],
    [
      'reject',
      Decision.reject('Blacklisted'),
      { action: 'REJECT', text: 'Blacklisted' },
      'REJECT Blacklisted',
    ],
    ['defer', Decision.defer('Try later'), { action: 'DEFER', text: 'Try later' }, 'DEFER Try later'],
    [
      'deferIfPermit',
      Decision.deferIfPermit('Greylisted'),
      { action: 'DEFER_IF_PERMIT', text: 'Greylisted' },
      'DEFER_IF_PERMIT Greylisted',
    ],
    ['deferIfReject', Decision.deferIfReject(), { action: 'DEFER_IF_REJECT' }, 'DEFER_IF_REJECT'],
    ['discard', Decision.discard('Spam'), { action: 'DISCARD', text: 'Spam' }, 'DISCARD Spam'],
    ['hold', Decision.hold('Review'), { action: 'HOLD', text: 'Review' }, 'HOLD Review'],
    ['warn', Decision.warn('Odd client'), { action: 'WARN', text: 'Odd client' }, 'WARN Odd client'],
    ['info', Decision.info('Seen'), { action: 'INFO', text: 'Seen' }, 'INFO Seen'],
    ['empty text', Decision.reject(''), { action: 'REJECT' }, 'REJECT'],
    [
      'prepend',
      Decision.prepend('X-Policyd', 'greylisted 5s'),
      { action: 'PREPEND', header: 'X-Policyd', value: 'greylisted 5s' },
      'PREPEND X-Policyd: greylisted 5s',
    ],
    [
      'redirect',
      Decision.redirect('quarantine@example.org'),
      { action: 'REDIRECT', address: 'quarantine@example.org' },
      'REDIRECT quarantine@example.org',
    ],
    [
      'bcc',
      Decision.bcc('archive@example.org'),
      { action: 'BCC', address: 'archive@example.org' },
      'BCC archive@example.org',
    ],
    [
      'filter',
      Decision.filter('smtp:[127.0.0.1]:10025'),
      { action: 'FILTER', nexthop: 'smtp:[127.0.0.1]:10025' },
      'FILTER smtp:[127.0.0.1]:10025',
    ],
    ['reply', Decision.reply(554, 'Go away'), { action: 'REPLY', code: 554, text: 'Go away' }, '554 Go away'],
    [
      'reply with status',
      Decision.reply(451, 'Greylisted', '4.7.1'),
      { action: 'REPLY', code: 451, status: '4.7.1', text: 'Greylisted' },
      '451 4.7.1 Greylisted',
    ],
  ])('%s builds %o and writes %j', (_, decision, shape, wire) => {
    expect(decision).toEqual(shape);
    expect(Object.isFrozen(decision)).toBe(true);
    expect(toAction(decision)).toBe(wire);
  });

  it('keeps the reason for traces and never sends it', () => {
    const decisions = [
      Decision.dunno('why-1'),
      Decision.ok('why-1'),
      Decision.reject('text', 'why-1'),
      Decision.prepend('X-A', 'b', 'why-1'),
      Decision.redirect('a@b.example', 'why-1'),
      Decision.bcc('a@b.example', 'why-1'),
      Decision.filter('smtp:x', 'why-1'),
      Decision.reply(451, 'text', '4.7.1', 'why-1'),
    ];
    for (const decision of decisions) {
      expect(decision.reason).toBe('why-1');
      expect(Object.isFrozen(decision)).toBe(true);
      expect(formatResponse(decision)).not.toContain('why-1');
    }
  });

  it('trims a reply text and accepts the edge codes 400 and 599', () => {
    expect(toAction(Decision.reply(400, '  spaced  '))).toBe('400 spaced');
    expect(toAction(Decision.reply(599, 'x', '5.0.0'))).toBe('599 5.0.0 x');
  });
});

describe('constructor validation', () => {
  it.each([399, 600, 200, 450.5, Number.NaN, Number.POSITIVE_INFINITY, -451])(
    'refuses reply code %d',
    (code) => {
      invalid(() => Decision.reply(code, 'text'));
    },
  );

  it.each<[number, string]>([
    [451, '5.7.1'],
    [550, '4.7.1'],
    [451, '2.0.0'],
    [451, '4.7'],
    [451, '4.7.1.1'],
    [451, '4.1000.1'],
    [451, 'x.7.1'],
    [451, '4.7.1 '],
    [451, '4.7.1\n'],
  ])('refuses reply %d with enhanced status %j', (code, status) => {
    invalid(() => Decision.reply(code, 'text', status));
  });

  it.each(['', '   ', '\r\n', '\0'])('refuses a reply without text (%j)', (text) => {
    invalid(() => Decision.reply(451, text));
  });

  it.each(['', 'X Spam', 'X-Spam:', 'X-Späm', 'X-A\r\nX-B', 'X\0'])('refuses header name %j', (header) => {
    invalid(() => Decision.prepend(header, 'value'));
  });

  it.each([
    '',
    'user',
    'a b@example.org',
    'a@example.org\n',
    'a@example.org\r',
    'a@b\0c.org',
    'a@b\u0007.org',
  ])('refuses redirect and bcc address %j', (address) => {
    invalid(() => Decision.redirect(address));
    invalid(() => Decision.bcc(address));
  });

  it.each(['', 'smtp', ':[127.0.0.1]', 'smtp:a b', 'sm tp:x', 'smtp:x\n', 'smtp:x\0', 'smtp\0:x'])(
    'refuses filter next-hop %j',
    (nexthop) => {
      invalid(() => Decision.filter(nexthop));
    },
  );

  it('accepts a filter with an empty destination', () => {
    expect(toAction(Decision.filter('smtp:'))).toBe('FILTER smtp:');
  });

  it('names the offending value', () => {
    expect(thrown(() => Decision.reply(700, 'x')).message).toContain('700');
    expect(thrown(() => Decision.redirect('nobody')).message).toContain('nobody');
  });
});

describe('wire safety', () => {
  const hostile = 'a\rb\nc\0d\te\u007ff\u0001action=OK\n\n';

  it('replaces control characters in every free text with spaces', () => {
    for (const decision of [
      Decision.reject(hostile),
      Decision.defer(hostile),
      Decision.deferIfPermit(hostile),
      Decision.deferIfReject(hostile),
      Decision.discard(hostile),
      Decision.hold(hostile),
      Decision.warn(hostile),
      Decision.info(hostile),
      Decision.prepend('X-Test', hostile),
      Decision.reply(550, hostile, '5.7.1'),
    ]) {
      const action = toAction(decision);
      expect(action).not.toMatch(/[\r\n\0\t\u007f\u0001]/);
      expect(action).toContain('a b c d e f action=OK');
    }
  });

  it('sanitises text in decision literals that skipped the constructors', () => {
    expect(toAction({ action: 'REJECT', text: 'x\r\ny' })).toBe('REJECT x  y');
    expect(toAction({ action: 'PREPEND', header: 'X-A', value: 'v\nX-B: w' })).toBe('PREPEND X-A: v X-B: w');
    expect(toAction({ action: 'REPLY', code: 451, text: 'x\ny' })).toBe('451 x y');
  });

  it('makes lone surrogates well-formed', () => {
    expect(sanitizeText('a\uD800b')).toBe('a\uFFFDb');
  });

  it('never writes more than one line, whatever text a plugin supplies', () => {
    const constructors = [
      (t: string) => Decision.reject(t),
      (t: string) => Decision.warn(t),
      (t: string) => Decision.prepend('X-T', t),
      (t: string) => Decision.reply(451, `x${t}`, '4.7.1'),
    ];
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: constructors.length - 1 }), (text, pick) => {
        const wire = formatResponse(constructors[pick]!(text));
        expect(wire.startsWith('action=')).toBe(true);
        expect(wire.endsWith('\n\n')).toBe(true);
        expect(wire.slice(0, -2)).not.toMatch(/[\r\n\0]/);
        expect(wire.isWellFormed()).toBe(true);
      }),
    );
  });
});

describe('assertDecision', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'DUNNO'],
    ['a number', 0],
    ['an empty object', {}],
    ['an unknown action', { action: 'PERMIT' }],
    ['a lower-case action', { action: 'dunno' }],
    ['a reply code out of range', { action: 'REPLY', code: 200, text: 'x' }],
    ['a reply code as text', { action: 'REPLY', code: '451', text: 'x' }],
    ['a reply without text', { action: 'REPLY', code: 451 }],
    ['a reply with a mismatched status', { action: 'REPLY', code: 451, status: '5.7.1', text: 'x' }],
    ['a prepend with a bad header', { action: 'PREPEND', header: 'a b', value: 'x' }],
    ['a prepend without value', { action: 'PREPEND', header: 'X-A' }],
    ['a redirect without address', { action: 'REDIRECT' }],
    ['a bcc without @', { action: 'BCC', address: 'archive' }],
    ['a bcc with a NUL', { action: 'BCC', address: 'a@b\0' }],
    ['a filter without transport', { action: 'FILTER', nexthop: 'relay' }],
    ['a text that is not a string', { action: 'REJECT', text: 5 }],
  ])('refuses %s', (_, value) => {
    invalid(() => assertDecision(value));
    invalid(() => toAction(value as Decision));
  });

  it.each<[string, unknown]>([
    ['DUNNO', { action: 'DUNNO' }],
    ['OK with a reason', { action: 'OK', reason: 'whitelisted' }],
    ['REJECT without text', { action: 'REJECT' }],
    ['HOLD with text', { action: 'HOLD', text: 'x' }],
    ['REPLY', { action: 'REPLY', code: 451, status: '4.7.1', text: 'x' }],
    ['PREPEND', { action: 'PREPEND', header: 'X-A', value: '' }],
    ['REDIRECT', { action: 'REDIRECT', address: 'a@b.example' }],
    ['FILTER', { action: 'FILTER', nexthop: 'smtp:[::1]:10025' }],
  ])('accepts a well-formed %s literal and returns it', (_, value) => {
    expect(assertDecision(value)).toBe(value);
  });
});
