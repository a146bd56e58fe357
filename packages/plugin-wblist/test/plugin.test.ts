/**
 * The plugin object itself: name, priority and states, option validation, the round-trip budget, the cache,
 * and what a store failure does.
 */

import {
  createMemoryStores,
  createPolicy,
  type DomainStore,
  isPolicydError,
  PolicydError,
  type PolicyPlugin,
  toAction,
  type WblistStore,
} from '@policyd/core';
import { evaluateRequest, fixedClock } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import {
  createWblistAdmin,
  DEFAULT_WBLIST_CACHE,
  resolveWblistOptions,
  type WblistOptions,
  wblist,
} from '../src/index.ts';
import { countCalls, createCallCounter, TEST_HOSTNAME, WORLD_DOMAINS } from './harness.ts';

function setup(options: Partial<Omit<WblistOptions, 'store' | 'domains'>> = {}) {
  const stores = createMemoryStores({ domains: WORLD_DOMAINS });
  const counter = createCallCounter();
  const store = countCalls(stores.wblist, 'wblist', counter);
  const domains = countCalls(stores.domains, 'domains', counter);
  const plugin = wblist({ store, domains, hostname: TEST_HOSTNAME, ...options });
  return { stores, counter, plugin, admin: createWblistAdmin(stores.wblist) };
}

const request = { sender: 'sender@ext.test', recipient: 'user@local.test', client_address: '192.0.2.10' };

function optionError(options: unknown): PolicydError {
  try {
    wblist(options as WblistOptions);
  } catch (err) {
    if (isPolicydError(err)) return err;
    throw err;
  }
  throw new Error('expected the options to be refused');
}

describe('the plugin object', () => {
  it('is iRedAPD’s amavisd_wblist: priority 40, RCPT only', () => {
    const { plugin } = setup();
    expect(plugin).toMatchObject({ name: 'amavisd_wblist', priority: 40, states: ['RCPT'] });
  });

  it('does not run at END-OF-MESSAGE', async () => {
    const { plugin, admin, counter } = setup();
    await admin.add({ list: 'blacklist', addresses: ['192.0.2.10'] });
    const policy = await createPolicy({ plugins: [plugin] });
    const { decision, trace } = await evaluateRequest(policy, {
      ...request,
      protocol_state: 'END-OF-MESSAGE',
    });
    expect(decision.action).toBe('DUNNO');
    expect(trace).toEqual([]);
    expect(counter.total()).toBe(0);
  });
});

describe('options', () => {
  const stores = createMemoryStores();
  const base = { store: stores.wblist, domains: stores.domains };

  it('defaults to iRedAPD’s settings, the cache off and the host name of the machine', () => {
    const resolved = resolveWblistOptions(base);
    expect(resolved).toMatchObject({
      bypassOutgoing: false,
      discardInsteadOfReject: false,
      enableAllWildcardIp: false,
      cache: undefined,
    });
    expect(typeof resolved.hostname).toBe('string');
    expect(resolved.hostname).toBe(resolved.hostname.toLowerCase());
  });

  it('lower-cases the host name and takes cache limits', () => {
    expect(resolveWblistOptions({ ...base, hostname: 'MX.Example.COM', cache: true })).toMatchObject({
      hostname: 'mx.example.com',
      cache: DEFAULT_WBLIST_CACHE,
    });
    expect(resolveWblistOptions({ ...base, cache: { ttlMs: 500 } }).cache).toEqual({
      maxEntries: DEFAULT_WBLIST_CACHE.maxEntries,
      ttlMs: 500,
    });
    expect(resolveWblistOptions({ ...base, cache: false }).cache).toBeUndefined();
  });

  it.each([
    ['store', { domains: stores.domains }],
    ['store', { ...base, store: {} }],
    ['domains', { store: stores.wblist }],
    ['domains', { ...base, domains: { lookup: () => undefined } }],
    ['bypassOutgoing', { ...base, bypassOutgoing: 'yes' }],
    ['discardInsteadOfReject', { ...base, discardInsteadOfReject: 1 }],
    ['enableAllWildcardIp', { ...base, enableAllWildcardIp: null }],
    ['hostname', { ...base, hostname: 42 }],
    ['cache', { ...base, cache: 'on' }],
    ['cache', { ...base, cache: { size: 10 } }],
    ['cache.maxEntries', { ...base, cache: { maxEntries: 0 } }],
    ['cache.maxEntries', { ...base, cache: { maxEntries: 1.5 } }],
    ['cache.ttlMs', { ...base, cache: { ttlMs: 3_600_001 } }],
    ['cache.ttlMs', { ...base, cache: { ttlMs: '10s' } }],
    ['discardInsteadOfRejct', { ...base, discardInsteadOfRejct: true }],
  ])('refuses a bad %s with POLICYD_ERR_INVALID_OPTION naming it', (option, options) => {
    const error = optionError(options);
    expect(error.code).toBe('POLICYD_ERR_INVALID_OPTION');
    expect(error.plugin).toBe('amavisd_wblist');
    expect(error.message).toContain(option);
  });

  it('refuses something that is not an options object', () => {
    expect(optionError(undefined).code).toBe('POLICYD_ERR_INVALID_OPTION');
  });
});

describe('round trips', () => {
  it('costs exactly one domain look-up and one list look-up for a full decision', async () => {
    const { plugin, admin, counter } = setup();
    await admin.add({ account: 'user@local.test', list: 'blacklist', addresses: ['@ext.test'] });
    const policy = await createPolicy({ plugins: [plugin] });
    const { decision } = await evaluateRequest(policy, request);
    expect(toAction(decision)).toBe('REJECT Blacklisted');
    expect(Object.fromEntries(counter.calls)).toEqual({ 'domains.lookupDomains': 1, 'wblist.lookup': 1 });
  });

  it('costs one look-up for both stages of an authenticated request', async () => {
    const { plugin, counter } = setup();
    const policy = await createPolicy({ plugins: [plugin] });
    await evaluateRequest(policy, {
      ...request,
      sasl_username: 'john@local.test',
      recipient: 'user@other.test',
    });
    expect(Object.fromEntries(counter.calls)).toEqual({ 'domains.lookupDomains': 1, 'wblist.lookup': 1 });
  });

  it('makes no call for the null sender or mail to oneself', async () => {
    const { plugin, counter } = setup();
    const policy = await createPolicy({ plugins: [plugin] });
    await evaluateRequest(policy, { ...request, sender: '' });
    await evaluateRequest(policy, { ...request, sender: 'user@local.test' });
    expect(counter.total()).toBe(0);
  });

  it('skips the domain look-up when no domain is valid', async () => {
    const { plugin, counter, admin } = setup();
    await admin.add({ list: 'blacklist', addresses: ['192.0.2.10'] });
    const policy = await createPolicy({ plugins: [plugin] });
    const { decision } = await evaluateRequest(policy, {
      ...request,
      sender: 'junk',
      recipient: 'root@localhost',
    });
    expect(toAction(decision)).toBe('REJECT Blacklisted');
    expect(Object.fromEntries(counter.calls)).toEqual({ 'wblist.lookup': 1 });
  });

  it('makes no list look-up when outbound is bypassed and the recipient is external', async () => {
    const { plugin, counter } = setup({ bypassOutgoing: true });
    const policy = await createPolicy({ plugins: [plugin] });
    await evaluateRequest(policy, {
      ...request,
      sasl_username: 'john@local.test',
      recipient: 'bob@ext.test',
    });
    expect(Object.fromEntries(counter.calls)).toEqual({ 'domains.lookupDomains': 1 });
  });
});

describe('cache', () => {
  it('is off by default: every request reads the store, so list changes apply at once', async () => {
    const { plugin, admin, counter } = setup();
    const policy = await createPolicy({ plugins: [plugin] });
    expect((await evaluateRequest(policy, request)).decision.action).toBe('DUNNO');
    await admin.add({ list: 'whitelist', addresses: ['@ext.test'] });
    expect((await evaluateRequest(policy, request)).decision.action).toBe('OK');
    expect(counter.total()).toBe(4);
  });

  it('answers a repeated request from memory with no store call, marked in the reason', async () => {
    const clock = fixedClock(1_000_000);
    const { plugin, admin, counter } = setup({ cache: { ttlMs: 5_000 } });
    await admin.add({ list: 'blacklist', addresses: ['@ext.test'] });
    const policy = await createPolicy({ plugins: [plugin], now: clock.now });
    const first = await evaluateRequest(policy, request);
    expect(first.decision.reason).toBe('inbound-blacklist: @ext.test → @.');
    counter.reset();
    const second = await evaluateRequest(policy, request);
    expect(toAction(second.decision)).toBe('REJECT Blacklisted');
    expect(second.decision.reason).toBe('inbound-blacklist: @ext.test → @. (cached)');
    expect(counter.total()).toBe(0);
  });

  it('caches DUNNO too, and forgets an entry after ttlMs', async () => {
    const clock = fixedClock(1_000_000);
    const { plugin, admin, counter } = setup({ cache: { ttlMs: 5_000 } });
    const policy = await createPolicy({ plugins: [plugin], now: clock.now });
    expect((await evaluateRequest(policy, request)).decision.action).toBe('DUNNO');
    await admin.add({ list: 'whitelist', addresses: ['@ext.test'] });
    counter.reset();
    clock.advance(4_999);
    const cached = await evaluateRequest(policy, request);
    expect(cached.decision.action).toBe('DUNNO');
    expect(cached.trace[0]?.decision?.reason).toBe('no matching entry (cached)');
    expect(counter.total()).toBe(0);
    clock.advance(1);
    expect((await evaluateRequest(policy, request)).decision.action).toBe('OK');
    expect(counter.total()).toBe(2);
  });

  it('keys on login, sender, recipient and client', async () => {
    const { plugin, admin, counter } = setup({ cache: true });
    await admin.add({ list: 'blacklist', addresses: ['192.0.2.10', 'other@*'] });
    await admin.add({ account: 'vip@local.test', list: 'whitelist', addresses: ['@.'] });
    const policy = await createPolicy({ plugins: [plugin] });
    const other = { ...request, sender: 'other@ext.test', client_address: '192.0.2.11' };
    const variants = [
      request,
      { ...request, client_address: '192.0.2.11' },
      other,
      { ...request, recipient: 'vip@local.test' },
      { ...other, sasl_username: 'other@ext.test' }, // no user@* for a login
    ];
    const actions: string[] = [];
    for (const attrs of variants) actions.push(toAction((await evaluateRequest(policy, attrs)).decision));
    expect(actions).toEqual(['REJECT Blacklisted', 'DUNNO', 'REJECT Blacklisted', 'OK', 'DUNNO']);
    expect(counter.total()).toBe(2 * variants.length);
    counter.reset();
    const again: string[] = [];
    for (const attrs of variants) again.push(toAction((await evaluateRequest(policy, attrs)).decision));
    expect(again).toEqual(actions);
    expect(counter.total()).toBe(0);
  });

  it('holds at most maxEntries decisions, dropping the least recently used', async () => {
    const { plugin, counter } = setup({ cache: { maxEntries: 2 } });
    const policy = await createPolicy({ plugins: [plugin] });
    const to = (recipient: string) => evaluateRequest(policy, { ...request, recipient });
    await to('a@local.test');
    await to('b@local.test');
    await to('a@local.test'); // a is now the most recent
    await to('c@local.test'); // pushes out b
    counter.reset();
    await to('a@local.test');
    await to('c@local.test');
    expect(counter.total()).toBe(0);
    await to('b@local.test');
    expect(counter.total()).toBe(2);
  });

  it('does not cache a failure', async () => {
    const stores = createMemoryStores({ domains: WORLD_DOMAINS });
    let fail = true;
    const store: WblistStore = {
      ...stores.wblist,
      lookup: (query) =>
        fail
          ? Promise.reject(new PolicydError('POLICYD_ERR_STORE', 'database down'))
          : stores.wblist.lookup(query),
    };
    await createWblistAdmin(stores.wblist).add({ list: 'whitelist', addresses: ['@ext.test'] });
    const policy = await createPolicy({
      plugins: [wblist({ store, domains: stores.domains, hostname: TEST_HOSTNAME, cache: true })],
    });
    expect((await evaluateRequest(policy, request)).trace[0]?.outcome).toBe('failed');
    fail = false;
    expect((await evaluateRequest(policy, request)).decision.action).toBe('OK');
  });
});

describe('store failures', () => {
  const failingDomains: DomainStore = {
    lookupDomains: () => Promise.reject(new PolicydError('POLICYD_ERR_STORE', 'vmail database down')),
  };

  async function evaluateWith(plugin: PolicyPlugin, onPluginError?: 'skip' | 'defer') {
    const policy = await createPolicy({
      plugins: [plugin],
      ...(onPluginError === undefined ? {} : { onPluginError }),
    });
    return evaluateRequest(policy, request);
  }

  it('is thrown, so the default error policy answers DUNNO as iRedAPD does', async () => {
    const stores = createMemoryStores();
    const plugin = wblist({ store: stores.wblist, domains: failingDomains, hostname: TEST_HOSTNAME });
    const { decision, trace } = await evaluateWith(plugin);
    expect(decision.action).toBe('DUNNO');
    expect(trace[0]?.outcome).toBe('failed');
    expect(trace[0]?.error?.message).toContain('amavisd_wblist');
  });

  it('follows the policy’s error policy', async () => {
    const stores = createMemoryStores();
    const store: WblistStore = {
      ...stores.wblist,
      lookup: () => Promise.reject(new PolicydError('POLICYD_ERR_STORE', 'amavisd database down')),
    };
    const plugin = wblist({ store, domains: stores.domains, hostname: TEST_HOSTNAME });
    const { decision } = await evaluateWith(plugin, 'defer');
    expect(decision).toMatchObject({ action: 'REPLY', code: 451 });
  });
});
