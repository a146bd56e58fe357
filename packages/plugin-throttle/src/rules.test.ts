import type { ThrottleSetting } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { ownRules } from './rules.ts';

let nextId = 1;
const row = (account: string, over: Partial<ThrottleSetting> = {}): ThrottleSetting => ({
  id: nextId++,
  account,
  kind: 'outbound',
  priority: 0,
  periodSeconds: 60,
  maxMessageSizeBytes: -1,
  maxMessages: -1,
  maxQuotaBytes: -1,
  maxRecipients: -1,
  ...over,
});

describe('ownRules', () => {
  it('gives each rule to the first row with a value >= 0, in the given order', () => {
    const user = row('u@example.com', { maxMessages: 0, maxMessageSizeBytes: -1 });
    const domain = row('@example.com', { maxMessages: 10, maxMessageSizeBytes: 500, maxQuotaBytes: -1 });
    const all = row('@.', { maxRecipients: 3, maxQuotaBytes: 1000, maxMessageSizeBytes: 1 });
    const owners = ownRules([user, domain, all]);
    expect(owners.max_msgs).toEqual({ rule: 'max_msgs', setting: user, limit: 0 });
    expect(owners.msg_size).toEqual({ rule: 'msg_size', setting: domain, limit: 500 });
    expect(owners.max_rcpts?.setting).toBe(all);
    expect(owners.max_quota).toEqual({ rule: 'max_quota', setting: all, limit: 1000 });
  });

  it('skips rows without a positive period entirely', () => {
    const off = row('u@example.com', { periodSeconds: 0, maxMessageSizeBytes: 10, maxRecipients: 1 });
    expect(ownRules([off])).toEqual({});
    const on = row('@.', { maxRecipients: 5 });
    expect(ownRules([off, on]).max_rcpts?.setting).toBe(on);
  });

  it('treats any negative value as inherit', () => {
    expect(ownRules([row('@.', { maxMessages: -5 })])).toEqual({});
  });
});
