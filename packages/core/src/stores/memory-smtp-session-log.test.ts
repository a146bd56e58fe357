import { describe, expect, it } from 'vitest';
import { describeSmtpSessionLogConformance } from './conformance/smtp-session-log.ts';
import { createMemorySmtpSessionLog } from './memory-smtp-session-log.ts';
import { smtpSessionTimeText } from './smtp-session-log.ts';

describeSmtpSessionLogConformance('memory', async () => {
  const store = createMemorySmtpSessionLog();
  return { store, rows: async () => store.rows(), close: async () => {} };
});

describe('smtpSessionTimeText', () => {
  it('formats UTC whole seconds as iRedAPD writes them', () => {
    expect(smtpSessionTimeText(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02 03:04:05');
    expect(smtpSessionTimeText(0)).toBe('1970-01-01 00:00:00');
  });
});
