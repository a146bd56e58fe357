import { describe, expect, it } from 'vitest';
import { Decision } from './decision.ts';
import type { Evaluation } from './policy.ts';
import { requestLogFields } from './request-log.ts';
import { policyRequest } from './testing/request-builder.ts';

function evaluation(overrides: Partial<Evaluation> = {}): Evaluation {
  return {
    decision: Decision.dunno(),
    disconnect: false,
    decidedBy: undefined,
    trace: [],
    durationMs: 0,
    ...overrides,
  };
}

describe('requestLogFields', () => {
  it('describes the request and the decision that answered it', () => {
    const request = policyRequest({
      client_address: '::ffff:192.0.2.9',
      protocol_state: 'rcpt',
      sender: 'Alice+News@Example.NET',
      recipient: 'Bob@Example.com',
      sasl_username: 'Carol@Example.org',
    });
    const fields = requestLogFields(
      request,
      evaluation({
        decision: Decision.reject('Sender blacklisted', 'wblist:sender'),
        decidedBy: 'amavisd_wblist',
        durationMs: 1.23456789,
      }),
    );
    expect(fields).toEqual({
      client: '192.0.2.9',
      state: 'RCPT',
      sender: 'alice+news@example.net',
      recipient: 'bob@example.com',
      sasl: 'carol@example.org',
      action: 'REJECT Sender blacklisted',
      plugin: 'amavisd_wblist',
      reason: 'wblist:sender',
      durationMs: 1.235,
    });
  });

  it('leaves plugin and reason undefined when every plugin said DUNNO, and keeps the null sender as ""', () => {
    const fields = requestLogFields(policyRequest({ sender: '' }), evaluation());
    expect(fields).toMatchObject({ sender: '', action: 'DUNNO', plugin: undefined, reason: undefined });
  });

  it('writes the action exactly as it goes on the wire, sanitised', () => {
    const fields = requestLogFields(
      policyRequest(),
      evaluation({ decision: Decision.reply(450, 'Try\nlater', '4.7.1') }),
    );
    expect(fields.action).toBe('450 4.7.1 Try later');
  });
});
