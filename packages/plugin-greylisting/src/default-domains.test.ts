import { createMemoryGreylistStore, parseWhitelistDomain } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WHITELIST_DOMAINS, seedWhitelistDomains } from './default-domains.ts';

describe('DEFAULT_WHITELIST_DOMAINS', () => {
  it("holds iRedAPD's list plus the big providers users hit", () => {
    for (const domain of [
      'amazon.com',
      'zoho.com',
      'outlook.com',
      'hotmail.com',
      'microsoft.com',
      'google.com',
      'gmail.com',
      'yahoo.com',
      'icloud.com',
      'apple.com',
      'amazonses.com',
      'qq.com',
      'foxmail.com',
      '163.com',
      '126.com',
    ]) {
      expect(DEFAULT_WHITELIST_DOMAINS).toContain(domain);
    }
    expect(DEFAULT_WHITELIST_DOMAINS).toHaveLength(49);
  });

  it('is sorted, unique, valid and frozen', () => {
    expect([...DEFAULT_WHITELIST_DOMAINS].sort()).toEqual(DEFAULT_WHITELIST_DOMAINS);
    expect(new Set(DEFAULT_WHITELIST_DOMAINS).size).toBe(DEFAULT_WHITELIST_DOMAINS.length);
    for (const domain of DEFAULT_WHITELIST_DOMAINS) expect(parseWhitelistDomain(domain)).toBe(domain);
    expect(Object.isFrozen(DEFAULT_WHITELIST_DOMAINS)).toBe(true);
  });
});

describe('seedWhitelistDomains', () => {
  it('adds the missing domains and returns them', async () => {
    const store = createMemoryGreylistStore();
    await store.addWhitelistDomain('qq.com');
    const added = await seedWhitelistDomains(store);
    expect(added).toEqual(DEFAULT_WHITELIST_DOMAINS.filter((d) => d !== 'qq.com'));
    expect(await store.listWhitelistDomains()).toEqual(DEFAULT_WHITELIST_DOMAINS);
    expect(await seedWhitelistDomains(store, ['example.com'])).toEqual(['example.com']);
  });
});
