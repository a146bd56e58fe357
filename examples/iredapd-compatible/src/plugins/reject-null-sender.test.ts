import { createPolicy, type Logger, toAction } from '@policyd/core';
import { evaluateRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { rejectNullSender } from './reject-null-sender.ts';

function recordingLogger(lines: string[]): Logger {
  const log = (fieldsOrMessage: object | string, message?: string) => {
    lines.push(typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? ''));
  };
  const logger: Logger = { debug: () => {}, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

describe('reject_null_sender', async () => {
  const lines: string[] = [];
  const policy = await createPolicy({ plugins: [rejectNullSender()], logger: recordingLogger(lines) });

  it('rejects a null sender from an authenticated client and logs it as iRedAPD does', async () => {
    const { decision } = await evaluateRequest(policy, { sender: '', sasl_username: 'Bob@Example.com' });
    expect(toAction(decision)).toBe('REJECT Policy rejection due to null sender');
    expect(lines).toContain('Possible spam (authenticated as bob@example.com but sender address is null).');
  });

  it.each([
    ['a bounce (null sender, no login)', { sender: '', sasl_username: '' }, 'not authenticated'],
    [
      'an authenticated sender',
      { sender: 'bob@example.com', sasl_username: 'bob@example.com' },
      'sender is not null',
    ],
    [
      'another sender than the login',
      { sender: 'x@example.net', sasl_username: 'bob@example.com' },
      'sender is not null',
    ],
  ])('lets %s pass', async (_, attrs, reason) => {
    const { decision, trace } = await evaluateRequest(policy, attrs);
    expect(decision.action).toBe('DUNNO');
    expect(trace.map((t) => t.decision)).toEqual([{ action: 'DUNNO', reason }]);
  });

  it('runs at RCPT only, with priority 100', async () => {
    const plugin = rejectNullSender();
    expect([plugin.name, plugin.priority, plugin.states]).toEqual(['reject_null_sender', 100, ['RCPT']]);
    const { trace } = await evaluateRequest(policy, {
      sender: '',
      sasl_username: 'bob@example.com',
      protocol_state: 'END-OF-MESSAGE',
    });
    expect(trace).toEqual([]);
  });
});
