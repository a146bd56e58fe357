import { describe, expect, it } from 'vitest';
import { parseAttributeArgs, parseAttributeText } from './request-attributes.ts';

describe('parseAttributeArgs', () => {
  it('reads name=value pairs, values may contain = and be empty; a later one wins', () => {
    expect([...parseAttributeArgs(['sender=', 'x=a=b', 'recipient=b@example.com', 'x=c'])]).toEqual([
      ['sender', ''],
      ['x', 'c'],
      ['recipient', 'b@example.com'],
    ]);
  });

  it('names the argument that is not name=value', () => {
    expect(() => parseAttributeArgs(['sender=a@b.test', 'oops'])).toThrow(/argument 2: expected name=value/);
    expect(() => parseAttributeArgs(['Sender=a'])).toThrow(/argument 1/);
    expect(() => parseAttributeArgs(['=a'])).toThrow(/argument 1/);
  });
});

describe('parseAttributeText', () => {
  it('reads policy protocol lines, CRLF too, skipping blank lines and comments', () => {
    const text =
      '# a request\r\nrequest=smtpd_access_policy\r\nsender=a@b.test\n\nclient_address=192.0.2.1\n';
    expect(Object.fromEntries(parseAttributeText(text))).toEqual({
      request: 'smtpd_access_policy',
      sender: 'a@b.test',
      client_address: '192.0.2.1',
    });
  });

  it('names the line that is not name=value', () => {
    expect(() => parseAttributeText('sender=a@b.test\nnonsense\n')).toThrow(/line 2:/);
  });
});
