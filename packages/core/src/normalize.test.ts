import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AttributeSpec, POSTFIX_ATTRIBUTES } from './attributes.ts';
import { isPolicydError, type PolicydError } from './errors.ts';
import { normalizeIp } from './ip.ts';
import { mailAddress, toPolicyRequest } from './normalize.ts';
import type { NormalizeOptions, PolicyRequest } from './request.ts';

function request(attrs: Record<string, string>, options?: NormalizeOptions): PolicyRequest {
  return toPolicyRequest(
    new Map(Object.entries({ request: 'smtpd_access_policy', protocol_state: 'RCPT', ...attrs })),
    options,
  );
}

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (error) {
    if (isPolicydError(error)) return error;
    throw error;
  }
  throw new Error('expected a PolicydError');
}

describe('mailAddress', () => {
  it.each([
    ['', { address: '', localPart: '', domain: '', withoutExtension: '', valid: false }],
    [
      'User+Tag@Example.COM',
      {
        address: 'user+tag@example.com',
        localPart: 'user+tag',
        domain: 'example.com',
        withoutExtension: 'user@example.com',
        valid: true,
      },
    ],
    ['a+b+c@x.com', { withoutExtension: 'a@x.com', valid: true }],
    ['john', { address: 'john', localPart: 'john', domain: 'john', withoutExtension: 'john', valid: false }],
    ['user+x@localhost', { domain: 'localhost', withoutExtension: 'user+x@localhost', valid: false }],
    ['a@b@example.com', { localPart: 'a', domain: 'b@example.com' }],
    ['Ü@Exämple.com', { address: 'ü@exämple.com', domain: 'exämple.com', valid: true }],
  ])('splits %j as iRedAPD does', (value, want) => {
    expect(mailAddress(value)).toMatchObject(want);
  });

  it('tries the delimiters in order and cuts at the first that occurs', () => {
    expect(mailAddress('a-b+c@x.com', ['+', '-']).withoutExtension).toBe('a-b@x.com');
    expect(mailAddress('a-b+c@x.com', ['-', '+']).withoutExtension).toBe('a@x.com');
    expect(mailAddress('a+b@x.com', []).withoutExtension).toBe('a+b@x.com');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(mailAddress('a@example.com'))).toBe(true);
  });
});

describe('toPolicyRequest', () => {
  it.each([
    ['no request attribute', { request: undefined }, 'bad-request-type'],
    ['another request type', { request: 'smtpd_other_policy' }, 'bad-request-type'],
    ['an upper-case request type', { request: 'SMTPD_ACCESS_POLICY' }, 'bad-request-type'],
    ['no protocol_state', { protocol_state: undefined }, 'bad-protocol-state'],
    ['an empty protocol_state', { protocol_state: '' }, 'bad-protocol-state'],
    ['a blank protocol_state', { protocol_state: '  ' }, 'bad-protocol-state'],
  ])('refuses %s as a protocol error', (_, change, reason) => {
    const attrs = new Map(
      Object.entries({ request: 'smtpd_access_policy', protocol_state: 'RCPT', ...change }),
    );
    for (const [key, value] of attrs) if (value === undefined) attrs.delete(key);
    const error = thrown(() => toPolicyRequest(attrs as Map<string, string>));
    expect(error.code).toBe('POLICYD_ERR_PROTOCOL');
    expect(error.reason).toBe(reason);
  });

  it('names the unsupported request type in the message', () => {
    expect(thrown(() => request({ request: 'junk' })).message).toContain('"junk"');
  });

  it.each(['CONNECT', 'EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'END-OF-MESSAGE', 'VRFY', 'ETRN'])(
    'knows the protocol state %s',
    (state) => {
      expect(request({ protocol_state: state }).protocolState).toBe(state);
      expect(request({ protocol_state: ` ${state.toLowerCase()} ` }).protocolState).toBe(state);
    },
  );

  it('maps a protocol state it does not know to UNKNOWN and keeps the raw value', () => {
    const req = request({ protocol_state: 'BDAT' });
    expect(req.protocolState).toBe('UNKNOWN');
    expect(req.attrs.get('protocol_state')).toBe('BDAT');
  });

  it('lower-cases sender, recipient, sasl_username and reverse_client_name only', () => {
    const req = request({
      sender: 'A@Example.ORG',
      recipient: 'B@Example.COM',
      sasl_username: 'C@Example.NET',
      reverse_client_name: 'Mail.Example.ORG',
      client_name: 'Mail.Example.ORG',
      helo_name: 'HELO.Example',
      sasl_sender: 'D@Example.ORG',
    });
    expect([req.sender.address, req.recipient.address, req.saslUsername.address]).toEqual([
      'a@example.org',
      'b@example.com',
      'c@example.net',
    ]);
    expect(req.reverseClientName).toBe('mail.example.org');
    expect([req.clientName, req.heloName, req.saslSender]).toEqual([
      'Mail.Example.ORG',
      'HELO.Example',
      'D@Example.ORG',
    ]);
  });

  it('strips extensions from sender and recipient, not from sasl_username', () => {
    const req = request({
      sender: 'a+x@example.org',
      recipient: 'b+y@example.com',
      sasl_username: 'c+z@example.net',
    });
    expect(req.sender.withoutExtension).toBe('a@example.org');
    expect(req.recipient.withoutExtension).toBe('b@example.com');
    expect(req.saslUsername.withoutExtension).toBe('c+z@example.net');
  });

  it('uses the configured delimiters', () => {
    const req = request({ recipient: 'b-y+z@example.com' }, { recipientDelimiters: ['-'] });
    expect(req.recipient.withoutExtension).toBe('b@example.com');
  });

  it('refuses invalid delimiters', () => {
    expect(thrown(() => request({}, { recipientDelimiters: ['+', ''] })).code).toBe(
      'POLICYD_ERR_INVALID_OPTION',
    );
  });

  it('marks an invalid address instead of failing', () => {
    const req = request({ sender: 'user@localhost' });
    expect(req.sender).toMatchObject({ address: 'user@localhost', valid: false });
  });

  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:C000:0201', '192.0.2.1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    [' 192.0.2.1 ', '192.0.2.1'],
    ['192.0.2.001', '192.0.2.001'],
    [' unknown ', 'unknown'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['', ''],
  ])('makes client_address %j canonical as %j', (raw, want) => {
    const req = request({ client_address: raw, server_address: raw });
    expect(req.clientAddress).toBe(want);
    expect(req.serverAddress).toBe(want);
    expect(req.attrs.get('client_address')).toBe(raw);
  });

  it('gives the same client_address as normalizeIp for any dotted quad', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.constantFrom('00', '01', '256', '999'),
    );
    fc.assert(
      fc.property(fc.array(octet, { minLength: 4, maxLength: 4 }), (octets) => {
        const raw = octets.join('.');
        expect(request({ client_address: raw }).clientAddress).toBe(normalizeIp(raw) ?? raw);
      }),
    );
  });

  it.each([
    ['12345', 12345],
    [' 25 ', 25],
    ['0', 0],
    ['', 0],
    ['-5', 0],
    ['1e3', 0],
    ['0x10', 0],
    ['12a', 0],
    ['99999999999999999999', 0],
  ])('reads the number %j as %d', (raw, want) => {
    const req = request({
      size: raw,
      recipient_count: raw,
      client_port: raw,
      server_port: raw,
      encryption_keysize: raw,
    });
    expect([req.size, req.recipientCount, req.clientPort, req.serverPort, req.encryptionKeysize]).toEqual([
      want,
      want,
      want,
      want,
      want,
    ]);
  });

  it.each([
    ['yes', true],
    ['YES', true],
    [' yes ', true],
    ['', false],
    ['no', false],
    ['1', false],
  ])('reads stress=%j as %s', (raw, want) => {
    expect(request({ stress: raw }).stress).toBe(want);
  });

  it('gives defaults for absent attributes', () => {
    const req = request({});
    expect(req).toMatchObject({
      sender: { address: '', valid: false },
      clientAddress: '',
      size: 0,
      stress: false,
      tlsSni: '',
      protocolName: '',
    });
  });

  it('keeps every attribute in attrs, copied and as sent', () => {
    const attrs = new Map([
      ['request', 'smtpd_access_policy'],
      ['protocol_state', 'RCPT'],
      ['Sender', 'X@Y.Z'],
      ['x_custom', 'v=1'],
    ]);
    const req = toPolicyRequest(attrs);
    attrs.set('x_custom', 'changed');
    expect(Object.fromEntries(req.attrs)).toEqual({
      request: 'smtpd_access_policy',
      protocol_state: 'RCPT',
      Sender: 'X@Y.Z',
      x_custom: 'v=1',
    });
    expect(req.sender.address).toBe('');
  });

  it('returns a frozen request', () => {
    const req = request({ sender: 'a@example.org' });
    expect(Object.isFrozen(req)).toBe(true);
    expect(Object.isFrozen(req.sender)).toBe(true);
  });

  it('has exactly the fields of the attribute table plus attrs', () => {
    const fields = POSTFIX_ATTRIBUTES.flatMap((spec) => (spec.field === undefined ? [] : [spec.field]));
    expect(Object.keys(request({})).sort()).toEqual([...fields, 'attrs'].sort());
  });
});

describe('POSTFIX_ATTRIBUTES', () => {
  const samples: Record<AttributeSpec['kind'], [string, unknown]> = {
    string: ['Some Value', 'Some Value'],
    address: ['Us.er@Example.ORG', { address: 'us.er@example.org', domain: 'example.org', valid: true }],
    number: ['42', 42],
    flag: ['yes', true],
    state: ['data', 'DATA'],
    ip: ['::ffff:198.51.100.3', '198.51.100.3'],
  };

  it('lists every attribute of Postfix 2.1 to 3.12 once, in README order', () => {
    expect(POSTFIX_ATTRIBUTES.map((a) => a.name)).toEqual([
      'request',
      'protocol_state',
      'protocol_name',
      'helo_name',
      'queue_id',
      'sender',
      'recipient',
      'recipient_count',
      'client_address',
      'client_name',
      'reverse_client_name',
      'instance',
      'sasl_method',
      'sasl_username',
      'sasl_sender',
      'size',
      'ccert_subject',
      'ccert_issuer',
      'ccert_fingerprint',
      'encryption_protocol',
      'encryption_cipher',
      'encryption_keysize',
      'etrn_domain',
      'stress',
      'ccert_pubkey_fingerprint',
      'client_port',
      'policy_context',
      'server_address',
      'server_port',
      'compatibility_level',
      'mail_version',
      'tls_sni',
    ]);
    const fields = POSTFIX_ATTRIBUTES.map((a) => a.field).filter((f) => f !== undefined);
    expect(new Set(fields).size).toBe(fields.length);
  });

  it.each([
    ['sasl_username', '2.2'],
    ['encryption_keysize', '2.3'],
    ['stress', '2.5'],
    ['ccert_pubkey_fingerprint', '2.9'],
    ['client_port', '3.0'],
    ['policy_context', '3.1'],
    ['server_port', '3.2'],
    ['mail_version', '3.8'],
    ['tls_sni', '3.12'],
  ])('records that %s came with Postfix %s', (name, since) => {
    expect(POSTFIX_ATTRIBUTES.find((a) => a.name === name)?.since).toBe(since);
  });

  it('is frozen, rows included', () => {
    expect(Object.isFrozen(POSTFIX_ATTRIBUTES)).toBe(true);
    expect(POSTFIX_ATTRIBUTES.every((row) => Object.isFrozen(row))).toBe(true);
  });

  it.each(POSTFIX_ATTRIBUTES.filter((spec) => spec.field !== undefined && spec.kind !== 'state'))(
    'fills $field from $name ($kind)',
    (spec) => {
      const [raw, want] = samples[spec.kind];
      const got = (request({ [spec.name]: raw }) as unknown as Record<string, unknown>)[spec.field!];
      const expected = spec.kind === 'string' && spec.lowerCase === true ? String(want).toLowerCase() : want;
      if (typeof expected === 'object') expect(got).toMatchObject(expected as object);
      else expect(got).toBe(expected);
    },
  );

  it('fills protocolState from protocol_state (state)', () => {
    expect(request({ protocol_state: samples.state[0] }).protocolState).toBe(samples.state[1]);
  });
});
