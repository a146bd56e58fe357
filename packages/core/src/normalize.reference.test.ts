import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { domainOf, isEmail, localPartOf, stripExtension } from './address.ts';
import { ATTRIBUTE_NAMES, attributeIndex, POSTFIX_ATTRIBUTES } from './attributes.ts';
import { createRequestDecoder } from './codec.ts';
import { normalizeIp } from './ip.ts';
import { mailAddress, toPolicyRequest } from './normalize.ts';
import type { MailAddress, PolicyRequest } from './request.ts';

/*
 * normalize.ts takes shortcuts for speed (character loops instead of regular expressions, values by table
 * position). These tests hold it to a plain reference: the table-driven rules written the obvious way, on top
 * of address.ts and ip.ts, for any input.
 */

function referenceAddress(value: string, delimiters: readonly string[]): MailAddress {
  const address = value.toLowerCase();
  const valid = isEmail(address);
  return {
    address,
    localPart: localPartOf(address),
    domain: domainOf(address),
    withoutExtension: valid && delimiters.length > 0 ? stripExtension(address, delimiters) : address,
    valid,
  };
}

function referenceNumber(raw: string | undefined): number {
  const text = (raw ?? '').trim();
  if (!/^\d+$/.test(text)) return 0;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : 0;
}

const STATES = ['CONNECT', 'EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'END-OF-MESSAGE', 'VRFY', 'ETRN'];

/** The request as the table says it should be, or `undefined` when it is not a valid request. */
function referenceRequest(
  attrs: ReadonlyMap<string, string>,
  delimiters: readonly string[] = ['+'],
): Record<string, unknown> | undefined {
  if (attrs.get('request') !== 'smtpd_access_policy') return undefined;
  const out: Record<string, unknown> = {};
  for (const spec of POSTFIX_ATTRIBUTES) {
    if (spec.field === undefined) continue;
    const raw = attrs.get(spec.name);
    switch (spec.kind) {
      case 'string':
        out[spec.field] = spec.lowerCase === true ? (raw ?? '').toLowerCase() : (raw ?? '');
        break;
      case 'address':
        out[spec.field] = referenceAddress(raw ?? '', spec.stripExtension === true ? delimiters : []);
        break;
      case 'number':
        out[spec.field] = referenceNumber(raw);
        break;
      case 'flag':
        out[spec.field] = raw !== undefined && raw.trim().toLowerCase() === 'yes';
        break;
      case 'ip':
        out[spec.field] = raw === undefined ? '' : (normalizeIp(raw) ?? raw.trim());
        break;
      case 'state': {
        const state = (raw ?? '').trim().toUpperCase();
        if (state === '') return undefined;
        out[spec.field] = STATES.includes(state) ? state : 'UNKNOWN';
        break;
      }
    }
  }
  out.attrs = Object.fromEntries(attrs);
  return out;
}

function plain(request: PolicyRequest): Record<string, unknown> {
  return { ...request, attrs: Object.fromEntries(request.attrs) };
}

// Characters that matter to the e-mail predicate: every class of its pattern, the forbidden ones, ASCII and
// Unicode white space, letters and digits outside ASCII (some with case mappings that leave ASCII), '@'.
const addressChar = fc.constantFrom(
  ...'aZz09_-#.+=/&@~!$%^*() \t\v\f\r',
  'é',
  'Ü',
  'ß',
  'İ',
  '\u212a', // KELVIN SIGN, lower-cases to k
  'ſ',
  '\u00a0',
  '\u3000',
  '\ufeff',
  '１',
  '٣',
  'ǅ',
  '\u0085',
);
const anyAddress = fc.string({ unit: addressChar, maxLength: 24 });
const label = fc.string({ unit: fc.constantFrom(...'abXY09_-.#&=/+', 'é', '\u212a'), maxLength: 8 });
const shapedAddress = fc
  .tuple(
    fc.constantFrom('', ' ', '\t', '\v', '\f', '\r', '\n', '\u00a0', '\u2028'),
    label,
    fc.constantFrom('@', '@@', '', '+', '+tag@', '-x@', '+@', '.@', '+@+'),
    label,
    fc.constantFrom('.', '..', '', '.c', '.com', '.co.uk'),
    fc.constantFrom('', 'm', 'om', '>', ' ', '\u3000', '!', 'é'),
  )
  .map((parts) => parts.join(''));
const address = fc.oneof(anyAddress, shapedAddress);
const delimiters = fc.oneof(
  fc.constant(['+']),
  fc.constant<string[]>([]),
  fc.array(fc.constantFrom('+', '-', '_', '+@', '@', '.', 'x', 'é', '='), { minLength: 1, maxLength: 3 }),
);

const number = fc.oneof(
  fc.nat().map(String),
  fc.stringMatching(/^ ?0*\d{0,20} ?$/),
  fc.constantFrom(
    '',
    ' ',
    '+1',
    '-1',
    '1e3',
    '0x1f',
    '1.0',
    '١٢',
    '１２',
    '\u00a012',
    '12\u3000',
    '9007199254740993',
  ),
);
const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.constantFrom('00', '01', '007', '256', '999', '1000', '', ' 1', '+1', '٣'),
);
const ip = fc.oneof(
  fc.array(octet, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
  fc.constantFrom('::ffff:192.0.2.1', '2001:DB8::1', ' 192.0.2.1 ', '192.0.2.1.', 'unknown', '', '1.2.3.4\t'),
);
const state = fc.oneof(
  fc.constantFrom(...STATES),
  fc.constantFrom(...STATES).map((s) => ` ${s.toLowerCase()}\t`),
  fc.constantFrom('', ' ', 'BDAT', 'rcpt', 'Rcpt', 'RCPT ', 'ıtrn', 'end-of-message'),
);
const flag = fc.constantFrom('yes', 'YES', ' yes ', 'Yes\t', 'no', '', 'y', 'yes!', 'yeſ');
const text = fc.string({ maxLength: 16 });

function valueFor(kind: (typeof POSTFIX_ATTRIBUTES)[number]['kind']): fc.Arbitrary<string> {
  switch (kind) {
    case 'address':
      return address;
    case 'number':
      return number;
    case 'ip':
      return ip;
    case 'state':
      return state;
    case 'flag':
      return flag;
    case 'string':
      return fc.oneof(text, address);
  }
}

// Some known attributes (each with values that exercise its kind), in any order, sometimes twice.
const attributes = fc
  .tuple(
    fc.array(
      fc
        .constantFrom(...POSTFIX_ATTRIBUTES.filter((spec) => spec.name !== 'request'))
        .chain((spec) => valueFor(spec.kind).map((value) => [spec.name, value] as const)),
      { maxLength: 40 },
    ),
    fc.constantFrom('smtpd_access_policy', 'smtpd_access_policy', 'other'),
  )
  .map(([pairs, type]) => new Map<string, string>([['request', type], ...pairs]));

describe('normalisation against the reference rules', () => {
  it('gives the reference MailAddress for any value and delimiters', () => {
    fc.assert(
      fc.property(address, delimiters, (value, delims) => {
        expect({ ...mailAddress(value, delims) }).toEqual(referenceAddress(value, delims));
      }),
      { numRuns: 5_000 },
    );
  });

  it('judges e-mail addresses exactly like isEmail', () => {
    const samples = [
      'a@b.cc',
      'a@b.c',
      ' a@b.cc ',
      'a@b.cc\u00a0',
      'a@b.cc \u00a0',
      '\u00a0 a@b.cc',
      'a@.cc',
      'a@-.cc',
      '-@x.yz',
      '#@x.yz',
      '.a@x.yz',
      'a.@x.yz',
      'a@x..yz',
      'a@x.y-',
      'a@x.-z',
      'a@x_y.zz',
      'a@x.y_z',
      'a@x.yz_',
      'a@x.\u212aa',
      'a@x.ſa',
      'é@x.yz',
      'a@é.yz',
      'a@x.éz',
      'a b@x.yz',
      'a@x.yz b',
      'a@x.yz!',
      'a@x.y!z',
      "o'brien@x.yz",
      'a@x.yz>',
      'user@localhost',
      '',
      ' ',
      '@x.yz',
      'a@',
      'a@@x.yz',
    ];
    for (const value of samples)
      expect([value, mailAddress(value).valid]).toEqual([value, isEmail(value.toLowerCase())]);
  });

  it('builds the reference request from any attributes', () => {
    fc.assert(
      fc.property(attributes, delimiters, (attrs, delims) => {
        const want = referenceRequest(attrs, delims);
        if (want === undefined) {
          expect(() =>
            toPolicyRequest(attrs, { recipientDelimiters: delims.filter((d) => d !== '') }),
          ).toThrow();
          return;
        }
        expect(plain(toPolicyRequest(attrs, { recipientDelimiters: delims }))).toEqual(want);
      }),
      { numRuns: 1_000 },
    );
  });

  it('decodes the wire form of any attributes into the reference request', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(attributes, (generated) => {
        // LF and NUL cannot be in a value on the wire.
        const attrs = [...generated].map(([name, value]) => [name, value.replace(/[\n\0]/g, '')] as const);
        const wire = attrs.map(([name, value]) => `${name}=${value}\n`).join('');
        const { requests, error } = createRequestDecoder().push(encoder.encode(`${wire}\n`));
        // A value ending in CR loses it on the wire (a CRLF line end), as the protocol says.
        const want = referenceRequest(
          new Map(attrs.map(([name, value]) => [name, value.replace(/\r$/, '')])),
        );
        if (want === undefined) {
          expect(error?.code).toBe('POLICYD_ERR_PROTOCOL');
          return;
        }
        expect(error).toBeUndefined();
        expect(requests.map(plain)).toEqual([want]);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('attributeIndex', () => {
  const encoder = new TextEncoder();
  const utf8 = (text: string) => encoder.encode(text);

  it('finds every table name, alone or inside longer text', () => {
    ATTRIBUTE_NAMES.forEach((name, row) => {
      expect(attributeIndex(utf8(name), 0, name.length)).toBe(row);
      expect(attributeIndex(utf8(`x=1\n${name}=value\n`), 4, 4 + name.length)).toBe(row);
    });
  });

  it('finds nothing for any other name', () => {
    const near = fc.constantFrom(...ATTRIBUTE_NAMES).chain((name) =>
      fc.oneof(
        fc.constant(name.toUpperCase()),
        fc.constant(`${name}_`),
        fc.constant(name.slice(1)),
        fc.constant(name.slice(0, -1)),
        // A first or last character outside ASCII (two bytes in UTF-8).
        fc.constant(String.fromCharCode(name.charCodeAt(0) + 128) + name.slice(1)),
        fc.constant(name.slice(0, -1) + String.fromCharCode(name.charCodeAt(name.length - 1) + 128)),
        fc
          .nat({ max: name.length - 1 })
          .chain((at) =>
            fc
              .constantFrom('a', 'z', '_', 'é', '\u0000')
              .map((c) => name.slice(0, at) + c + name.slice(at + 1)),
          ),
      ),
    );
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ minLength: 1, maxLength: 30 })), (name) => {
        const want = ATTRIBUTE_NAMES.indexOf(name);
        const bytes = utf8(name);
        expect(attributeIndex(bytes, 0, bytes.length)).toBe(want);
        expect(attributeIndex(utf8(`ab${name}cd`), 2, 2 + bytes.length)).toBe(want);
      }),
      { numRuns: 3_000 },
    );
  });
});
