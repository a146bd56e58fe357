import {
  createMemoryStores,
  createPolicy,
  type DomainStore,
  isPolicydError,
  type MemoryStores,
  toAction,
} from '@policyd/core';
import { createFakeResolver, evaluateRequest, fixedClock } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import {
  AVAILABLE_PLUGINS,
  createPlugins,
  IREDAPD_PLUGIN_PRIORITIES,
  IREDAPD_PLUGINS,
  type PluginContext,
  selectPlugins,
} from './plugin-table.ts';
import type { DaemonConfig } from './settings/daemon-config.ts';
import { parseSettings } from './settings/load-settings.ts';

const USUAL = ['reject_null_sender', 'amavisd_wblist', 'greylisting', 'throttle'];

const configOf = (python: string): DaemonConfig =>
  parseSettings(`backend = 'sqlite'\n${python}`, { file: 'settings.py', format: 'python', dataDir: '/tmp' })
    .config;

const order = (names: readonly string[], priorities: Record<string, number> = {}) =>
  selectPlugins({ names, priorities }).plugins.map((p) => `${p.name}:${p.priority}`);

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('the plugin table', () => {
  it("holds iRedAPD 6.1's built-in priorities", () => {
    expect(IREDAPD_PLUGIN_PRIORITIES).toEqual({
      reject_null_sender: 100,
      reject_to_hostname: 100,
      wblist_rdns: 99,
      reject_sender_login_mismatch: 90,
      greylisting: 80,
      ldap_force_change_password_in_days: 70,
      sql_force_change_password_in_days: 70,
      throttle: 60,
      sql_ml_access_policy: 51,
      ldap_maillist_access_policy: 50,
      sql_alias_access_policy: 50,
      amavisd_wblist: 40,
      whitelist_outbound_recipient: 30,
      senderscore: 10,
    });
  });

  it('lists every iRedAPD plugin once and implements the four iRedMail enables by default', () => {
    const names = IREDAPD_PLUGINS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(14);
    expect(AVAILABLE_PLUGINS).toEqual(USUAL);
    expect(IREDAPD_PLUGINS.find((e) => e.name === 'throttle')?.states).toEqual(['END-OF-MESSAGE']);
  });
});

describe('selectPlugins', () => {
  it("orders by iRedAPD's priorities, whatever the order in plugins", () => {
    const expected = ['reject_null_sender:100', 'greylisting:80', 'throttle:60', 'amavisd_wblist:40'];
    expect(order(USUAL)).toEqual(expected);
    expect(order([...USUAL].reverse())).toEqual(expected);
  });

  it('merges PLUGIN_PRIORITIES over the built-in priorities', () => {
    expect(order(USUAL, { amavisd_wblist: 90 })).toEqual([
      'reject_null_sender:100',
      'amavisd_wblist:90',
      'greylisting:80',
      'throttle:60',
    ]);
    expect(order(USUAL, { reject_null_sender: -5, throttle: 100.5 })[0]).toBe('throttle:100.5');
    expect(order(USUAL, { reject_null_sender: -5 }).at(-1)).toBe('reject_null_sender:-5');
  });

  it('keeps plugins order for equal priorities (a stable sort)', () => {
    expect(order(['throttle', 'greylisting'], { greylisting: 60 })).toEqual([
      'throttle:60',
      'greylisting:60',
    ]);
    expect(order(['greylisting', 'throttle'], { greylisting: 60 })).toEqual([
      'greylisting:60',
      'throttle:60',
    ]);
  });

  it('accepts an empty list', () => {
    expect(order([])).toEqual([]);
  });

  it("refuses iRedMail's default list, naming every plugin policyd lacks and what is available", () => {
    const message = errorOf(() =>
      selectPlugins({
        names: [
          'reject_null_sender',
          'wblist_rdns',
          'reject_sender_login_mismatch',
          'greylisting',
          'throttle',
          'amavisd_wblist',
          'sql_alias_access_policy',
        ],
        priorities: {},
      }),
    );
    expect(message).toBe(
      "plugins: cannot load 'wblist_rdns' (an iRedAPD plugin policyd does not implement yet), " +
        "'reject_sender_login_mismatch' (an iRedAPD plugin policyd does not implement yet), " +
        "'sql_alias_access_policy' (an iRedAPD plugin policyd does not implement yet); remove them from plugins. " +
        'Available: reject_null_sender, amavisd_wblist, greylisting, throttle',
    );
  });

  it('suggests the plugin a misspelt name probably meant', () => {
    expect(errorOf(() => selectPlugins({ names: ['greylsting'], priorities: {} }))).toBe(
      "plugins: cannot load 'greylsting' (unknown plugin; did you mean 'greylisting'?); remove it from plugins. " +
        'Available: reject_null_sender, amavisd_wblist, greylisting, throttle',
    );
    expect(errorOf(() => selectPlugins({ names: ['my_custom_plugin'], priorities: {} }))).toMatch(
      /^plugins: cannot load 'my_custom_plugin' \(unknown plugin\); remove it from plugins\./,
    );
  });

  it('warns about PLUGIN_PRIORITIES keys that name no plugin', () => {
    const { warnings } = selectPlugins({ names: USUAL, priorities: { amavisd_wblst: 90, senderscore: 5 } });
    expect(warnings).toEqual([
      "PLUGIN_PRIORITIES names 'amavisd_wblst', which is not an enabled plugin (did you mean 'amavisd_wblist'?)",
    ]);
  });
});

describe('createPlugins', () => {
  const sender = { sender: 'alice@example.net', recipient: 'bob@example.com', client_address: '192.0.2.10' };

  async function setup(python: string, context: Partial<PluginContext> = {}) {
    const config = configOf(python);
    const stores: MemoryStores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
    stores.greylist.seed({
      settings: [{ account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: 1 }],
    });
    const clock = fixedClock(Date.UTC(2025, 0, 1));
    const plugins = createPlugins(selectPlugins(config.plugins), {
      config,
      stores,
      dns: createFakeResolver(),
      hostname: 'mx.example.com',
      ...context,
    });
    const policy = await createPolicy({ plugins, now: clock.now });
    return { config, stores, plugins, policy, clock };
  }

  it('creates the plugins under their iRedAPD names, priorities and states', async () => {
    const { plugins } = await setup(
      `plugins = ${JSON.stringify(USUAL)}\nPLUGIN_PRIORITIES['amavisd_wblist'] = 90`,
    );
    expect(plugins.map((p) => [p.name, p.priority, p.states])).toEqual([
      ['reject_null_sender', 100, ['RCPT']],
      ['amavisd_wblist', 90, ['RCPT']],
      ['greylisting', 80, ['RCPT']],
      ['throttle', 60, ['END-OF-MESSAGE']],
    ]);
    expect(plugins.every((p) => Object.isFrozen(p))).toBe(true);
  });

  it('rejects a null sender from an authenticated client first', async () => {
    const { policy } = await setup(`plugins = ${JSON.stringify(USUAL)}`);
    const evaluation = await evaluateRequest(policy, {
      ...sender,
      sender: '',
      sasl_username: 'bob@example.com',
    });
    expect(toAction(evaluation.decision)).toBe('REJECT Policy rejection due to null sender');
    expect(evaluation.decidedBy).toBe('reject_null_sender');
  });

  it('greylists a new triplet with GREYLISTING_MESSAGE and accepts it after GREYLISTING_BLOCK_EXPIRE', async () => {
    const { policy, clock } = await setup(
      `plugins = ['greylisting']\nGREYLISTING_MESSAGE = 'Come back later'\nGREYLISTING_BLOCK_EXPIRE = 5`,
    );
    expect(toAction((await evaluateRequest(policy, sender)).decision)).toBe('451 4.7.1 Come back later');
    clock.advance(4 * 60_000);
    expect(toAction((await evaluateRequest(policy, sender)).decision)).toBe('451 4.7.1 Come back later');
    clock.advance(2 * 60_000);
    expect(toAction((await evaluateRequest(policy, sender)).decision)).toBe('DUNNO');
  });

  it.each([
    [60, 0],
    [0, 2],
  ])(
    'remembers passed clients for greylisting_passed_client_cache_seconds = %i (greylist store calls: %i)',
    async (seconds, calls) => {
      const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
      stores.greylist.seed({
        settings: [{ account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: 1 }],
      });
      let greylistCalls = 0;
      const greylist = new Proxy(stores.greylist, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            greylistCalls++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const { policy, clock } = await setup(
        `plugins = ['greylisting']\ngreylisting_passed_client_cache_seconds = ${seconds}`,
        { stores: { ...stores, greylist } },
      );
      await evaluateRequest(policy, sender);
      clock.advance(15 * 60_000);
      await evaluateRequest(policy, sender);
      const passed = await evaluateRequest(policy, { ...sender, sender: 'carol@example.org' });
      expect(passed.trace[0]?.decision?.reason).toMatch(/passed greylisting before \(1 passed triplets\)/);
      greylistCalls = 0;
      const again = await evaluateRequest(policy, { ...sender, sender: 'dave@example.org' });
      expect(toAction(again.decision)).toBe('DUNNO');
      expect(greylistCalls).toBe(calls); // loadContext and refreshPassed without the memory
      if (seconds > 0) {
        expect(again.trace[0]?.decision?.reason).toMatch(
          /passed greylisting before \(remembered, no look-up\)/,
        );
        clock.advance(seconds * 1000);
        await evaluateRequest(policy, { ...sender, sender: 'erin@example.org' });
        expect(greylistCalls).toBe(2);
      }
    },
  );

  it.each([
    ['True', ['loadContext', 'recordFirstAttempts']],
    ['False', ['loadContext', 'recordAttempt']],
  ])('records a first attempt behind the answer for greylisting_write_behind = %s', async (flag, calls) => {
    const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
    stores.greylist.seed({
      settings: [{ account: '@.', priority: 0, sender: '@.', senderPriority: 0, active: 1 }],
    });
    const called: string[] = [];
    const greylist = new Proxy(stores.greylist, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          called.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { policy } = await setup(`plugins = ['greylisting']\ngreylisting_write_behind = ${flag}`, {
      stores: { ...stores, greylist },
    });
    const first = await evaluateRequest(policy, sender);
    expect(toAction(first.decision)).toMatch(/^451 4\.7\.1 /);
    await policy.close();
    expect(called).toEqual(calls);
    expect(await stores.greylist.findTriplets('192.0.2.10')).toHaveLength(1);
  });

  it("reproduces iRedAPD's order: greylisting runs before the blacklist unless PLUGIN_PRIORITIES says otherwise", async () => {
    const blacklist = async (stores: MemoryStores) =>
      stores.wblist.add({
        account: '@.',
        direction: 'inbound',
        list: 'blacklist',
        addresses: ['alice@example.net'],
      });
    const plain = await setup(`plugins = ${JSON.stringify(USUAL)}`);
    await blacklist(plain.stores);
    expect(toAction((await evaluateRequest(plain.policy, sender)).decision)).toMatch(/^451 4\.7\.1 /);

    const reordered = await setup(
      `plugins = ${JSON.stringify(USUAL)}\nPLUGIN_PRIORITIES['amavisd_wblist'] = 90`,
    );
    await blacklist(reordered.stores);
    expect(toAction((await evaluateRequest(reordered.policy, sender)).decision)).toBe('REJECT Blacklisted');
  });

  it('passes WBLIST_DISCARD_INSTEAD_OF_REJECT to amavisd_wblist', async () => {
    const { policy, stores } = await setup(
      "plugins = ['amavisd_wblist']\nWBLIST_DISCARD_INSTEAD_OF_REJECT = True",
    );
    await stores.wblist.add({
      account: '@.',
      direction: 'inbound',
      list: 'blacklist',
      addresses: ['192.0.2.10'],
    });
    expect(toAction((await evaluateRequest(policy, sender)).decision)).toBe('DISCARD Policy discard');
  });

  it('does not greylist MYNETWORKS clients', async () => {
    const { policy } = await setup("plugins = ['greylisting']\nMYNETWORKS = ['192.0.2.0/24']");
    expect((await evaluateRequest(policy, sender)).decision.action).toBe('DUNNO');
  });

  it('throttles at END-OF-MESSAGE', async () => {
    const { policy, stores } = await setup("plugins = ['throttle']");
    await stores.throttle.setSetting({
      account: '@.',
      kind: 'outbound',
      periodSeconds: 3600,
      maxMessages: 1,
    });
    const message = {
      ...sender,
      sender: 'bob@example.com',
      sasl_username: 'bob@example.com',
      recipient: 'carol@example.org',
      protocol_state: 'END-OF-MESSAGE',
      recipient_count: 1,
    };
    expect(toAction((await evaluateRequest(policy, message)).decision)).toBe('DUNNO');
    expect(toAction((await evaluateRequest(policy, message)).decision)).toBe(
      'REJECT Throttling quota exceeded',
    );
    // RCPT requests never reach throttle.
    expect((await evaluateRequest(policy, { ...message, protocol_state: 'RCPT' })).trace).toEqual([]);
  });

  it('turns plugins whose database is disabled into DUNNO, as iRedAPD does', async () => {
    const { policy, plugins } = await setup(`plugins = ${JSON.stringify(USUAL)}`, {
      disabled: new Set(['iredapd', 'amavisd']),
    });
    expect(plugins.map((p) => p.name)).toEqual([
      'reject_null_sender',
      'greylisting',
      'throttle',
      'amavisd_wblist',
    ]);
    const evaluation = await evaluateRequest(policy, sender);
    expect(evaluation.decision.action).toBe('DUNNO');
    expect(evaluation.trace.map((t) => [t.plugin, t.decision?.reason])).toEqual([
      ['reject_null_sender', 'not authenticated'],
      ['greylisting', 'iredapd database disabled in the settings'],
      ['amavisd_wblist', 'amavisd database disabled in the settings'],
    ]);
  });

  it('uses an empty domain store when vmail is disabled', async () => {
    const failing: DomainStore = {
      lookupDomains: () => Promise.reject(new Error('vmail must not be queried')),
    } as unknown as DomainStore;
    const config = configOf(`plugins = ['amavisd_wblist']`);
    const stores = { ...createMemoryStores(), domains: failing };
    const make = (disabled: ReadonlySet<'vmail'>) =>
      createPolicy({ plugins: createPlugins(selectPlugins(config.plugins), { config, stores, disabled }) });
    const attrs = { ...sender, sasl_username: 'alice@example.net' };
    expect((await evaluateRequest(await make(new Set()), attrs)).trace[0]?.outcome).toBe('failed');
    expect((await evaluateRequest(await make(new Set(['vmail'])), attrs)).trace[0]?.outcome).toBe('dunno');
  });

  it('names the plugin when its factory rejects an option', () => {
    const config = configOf(`plugins = ['greylisting']`);
    const broken = { ...config, greylisting: { ...config.greylisting, message: ' ' } };
    expect(() =>
      createPlugins(selectPlugins(broken.plugins), { config: broken, stores: createMemoryStores() }),
    ).toThrow(/^plugin greylisting: greylisting option message must be a non-empty string/);
  });

  it('refuses an order that names a plugin without a factory', () => {
    const config = configOf(`plugins = []`);
    expect(() =>
      createPlugins(
        { plugins: [{ name: 'senderscore', priority: 10, states: ['RCPT'] }], warnings: [] },
        { config, stores: createMemoryStores() },
      ),
    ).toThrow(/plugins: 'senderscore' is not available/);
  });
});
