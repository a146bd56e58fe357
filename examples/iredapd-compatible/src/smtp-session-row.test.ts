import { Decision } from '@policyd/core';
import { policyRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import type { SmtpSessionsConfig } from './settings/daemon-config.ts';
import { smtpSessionRow } from './smtp-session-row.ts';

const ON: SmtpSessionsConfig = {
  enabled: true,
  bypassDunno: false,
  bypassGreylisting: false,
  bypassWhitelist: false,
};
const NOW = Date.UTC(2026, 0, 1, 12);
const GREY = Decision.reply(451, 'Intentional policy rejection, please try again later', '4.7.1');

const rcpt = policyRequest({
  sender: 'Carol+tag@Sender.test',
  recipient: 'dave+x@example.com',
  sasl_username: '',
  client_address: '192.0.2.20',
  client_name: 'mail.sender.test',
  reverse_client_name: '[mail.sender.test]',
  helo_name: 'HELO.sender.test',
  instance: 'abc.1',
  encryption_protocol: 'TLSv1.3',
  encryption_cipher: 'TLS_AES_256_GCM_SHA384',
  server_address: '192.0.2.1',
  server_port: 25,
});
const eom = policyRequest({
  protocol_state: 'END-OF-MESSAGE',
  sasl_username: 'u@example.com',
  recipient: '',
});

describe('smtpSessionRow', () => {
  it('fills the columns as iRedAPD does', () => {
    expect(smtpSessionRow(rcpt, GREY, NOW, ON)).toEqual({
      time: NOW,
      action: '451',
      reason: '4.7.1 Intentional policy rejection, please try again later',
      instance: 'abc.1',
      clientAddress: '192.0.2.20',
      clientName: 'mail.sender.test',
      reverseClientName: '[mail.sender.test]',
      heloName: 'HELO.sender.test',
      sender: 'carol@sender.test',
      senderDomain: 'sender.test',
      saslUsername: '',
      saslDomain: '',
      recipient: 'dave@example.com',
      recipientDomain: 'example.com',
      encryptionProtocol: 'TLSv1.3',
      encryptionCipher: 'TLS_AES_256_GCM_SHA384',
      serverAddress: '192.0.2.1',
      serverPort: '25',
    });
  });

  it('logs RCPT answers other than DUNNO, every END-OF-MESSAGE answer, and no other state', () => {
    expect(smtpSessionRow(rcpt, Decision.dunno(), NOW, ON)).toBeUndefined();
    expect(smtpSessionRow(rcpt, Decision.ok(), NOW, ON)).toMatchObject({ action: 'OK', reason: '' });
    expect(smtpSessionRow(eom, Decision.dunno(), NOW, ON)).toMatchObject({
      action: 'DUNNO',
      reason: '',
      saslUsername: 'u@example.com',
      saslDomain: 'example.com',
      recipient: '',
      recipientDomain: '',
    });
    expect(smtpSessionRow(eom, Decision.reject('Throttling quota exceeded'), NOW, ON)).toMatchObject({
      action: 'REJECT',
      reason: 'Throttling quota exceeded',
    });
    expect(
      smtpSessionRow(policyRequest({ protocol_state: 'DATA' }), Decision.reject('x'), NOW, ON),
    ).toBeUndefined();
    // Upper-cased before the comparison (iRedAPD never logs a lower-case `rcpt`).
    expect(
      smtpSessionRow(policyRequest({ protocol_state: 'rcpt' }), Decision.reject('x'), NOW, ON),
    ).toBeDefined();
  });

  it('keeps the DUNNO reason empty even with text', () => {
    expect(smtpSessionRow(eom, Decision.dunno('something'), NOW, ON)).toMatchObject({
      action: 'DUNNO',
      reason: '',
    });
  });

  it('honours the switches', () => {
    expect(smtpSessionRow(rcpt, Decision.reject('x'), NOW, { ...ON, enabled: false })).toBeUndefined();
    expect(smtpSessionRow(rcpt, GREY, NOW, { ...ON, bypassGreylisting: true })).toBeUndefined();
    expect(
      smtpSessionRow(rcpt, Decision.reply(451, 'other', '4.3.0'), NOW, { ...ON, bypassGreylisting: true }),
    ).toBeDefined();
    expect(smtpSessionRow(rcpt, Decision.ok(), NOW, { ...ON, bypassWhitelist: true })).toBeUndefined();
    expect(smtpSessionRow(eom, Decision.ok(), NOW, { ...ON, bypassWhitelist: true })).toBeUndefined();
    expect(smtpSessionRow(eom, Decision.dunno(), NOW, { ...ON, bypassDunno: true })).toBeUndefined();
    expect(smtpSessionRow(eom, Decision.reject('x'), NOW, { ...ON, bypassDunno: true })).toBeDefined();
  });
});
