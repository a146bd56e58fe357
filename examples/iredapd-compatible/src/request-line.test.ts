import { Decision, type Evaluation } from '@policyd/core';
import { policyRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { requestLine, whoOf } from './request-line.ts';

function evaluation(decision: Decision, decidedBy?: string, durationMs = 12.345): Evaluation {
  return { decision, disconnect: false, decidedBy, trace: [], durationMs };
}

describe('whoOf', () => {
  it("follows iRedAPD's three forms", () => {
    expect(whoOf(policyRequest({ sender: 'a@x.test', recipient: 'b@y.test' }))).toBe('a@x.test -> b@y.test');
    expect(
      whoOf(policyRequest({ sender: 'A@x.test', sasl_username: 'a@x.test', recipient: 'b@y.test' })),
    ).toBe('a@x.test => b@y.test');
    expect(
      whoOf(policyRequest({ sender: 'c@x.test', sasl_username: 'a@x.test', recipient: 'b@y.test' })),
    ).toBe('a@x.test => c@x.test -> b@y.test');
    expect(whoOf(policyRequest({ sender: '', recipient: 'b@y.test' }))).toBe(' -> b@y.test');
  });
});

describe('requestLine', () => {
  it('lists the client details at RCPT, brackets stripped from reverse_client_name, and the deciding plugin', () => {
    const request = policyRequest({
      client_address: '192.0.2.7',
      sender: 'a@x.test',
      recipient: 'b@y.test',
      client_name: 'unknown',
      reverse_client_name: '[mx.x.test]',
      helo_name: 'helo.x.test',
      encryption_protocol: 'TLSv1.3',
      encryption_cipher: 'TLS_AES_128_GCM_SHA256',
      server_port: 587,
    });
    const line = requestLine(request, evaluation(Decision.reject('Blacklisted'), 'amavisd_wblist'));
    expect(line.msg).toBe(
      '[192.0.2.7] RCPT, a@x.test -> b@y.test, REJECT Blacklisted [sasl_username=, sender=a@x.test, ' +
        'client_name=unknown, reverse_client_name=mx.x.test, helo=helo.x.test, encryption_protocol=TLSv1.3, ' +
        'encryption_cipher=TLS_AES_128_GCM_SHA256, server_port=587, plugin=amavisd_wblist, process_time=0.0123s]',
    );
    expect(line.fields).toMatchObject({
      client: '192.0.2.7',
      state: 'RCPT',
      sender: 'a@x.test',
      recipient: 'b@y.test',
      action: 'REJECT Blacklisted',
      plugin: 'amavisd_wblist',
      durationMs: 12.345,
    });
  });

  it('lists recipient_count and size in other states, and no plugin when none decided', () => {
    const request = policyRequest({
      protocol_state: 'END-OF-MESSAGE',
      sender: 'a@x.test',
      recipient: '',
      recipient_count: 2,
      size: 1234,
    });
    expect(requestLine(request, evaluation(Decision.dunno('all passed'), undefined, 0.4)).msg).toBe(
      '[192.0.2.10] END-OF-MESSAGE, a@x.test -> , DUNNO [recipient_count=2, size=1234, process_time=0.0004s]',
    );
  });

  it('shows an unknown state as sent', () => {
    const request = policyRequest({ protocol_state: 'SOMETHING' });
    expect(requestLine(request, evaluation(Decision.dunno())).msg).toMatch(/^\[192\.0\.2\.10\] SOMETHING, /);
  });
});
