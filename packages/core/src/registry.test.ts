import { describe, expect, it } from 'vitest';
import { Decision } from './decision.ts';
import { PolicydError } from './errors.ts';
import type { PolicyPlugin } from './plugin.ts';
import {
  DEFAULT_PLUGIN_STATES,
  describePlugins,
  PROTOCOL_STATES,
  showValue,
  sortPlugins,
} from './registry.ts';

const check = () => Decision.dunno();
const plugin = (name: string, extra: Partial<PolicyPlugin> = {}): PolicyPlugin => ({ name, check, ...extra });
const names = (plugins: readonly PolicyPlugin[]) => plugins.map((p) => p.name);

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicydError) return err;
    throw err;
  }
  throw new Error('expected a PolicydError, nothing was thrown');
}

describe('sortPlugins', () => {
  it('runs higher priorities first and treats a missing priority as 0', () => {
    const sorted = sortPlugins([
      plugin('zero'),
      plugin('forty', { priority: 40 }),
      plugin('minus', { priority: -5 }),
      plugin('hundred', { priority: 100 }),
      plugin('fraction', { priority: 0.5 }),
    ]);
    expect(names(sorted)).toEqual(['hundred', 'forty', 'fraction', 'zero', 'minus']);
  });

  it('keeps registration order for equal priorities', () => {
    const sorted = sortPlugins([
      plugin('a', { priority: 10 }),
      plugin('b'),
      plugin('c', { priority: 10 }),
      plugin('d', { priority: 0 }),
      plugin('e', { priority: 10 }),
      plugin('f'),
    ]);
    expect(names(sorted)).toEqual(['a', 'c', 'e', 'b', 'd', 'f']);
  });

  it('reuses iRedAPD priorities: wblist at 40 runs after greylisting at 80', () => {
    const sorted = sortPlugins([
      plugin('amavisd_wblist', { priority: 40 }),
      plugin('greylisting', { priority: 80 }),
      plugin('reject_null_sender', { priority: 100 }),
      plugin('throttle', { priority: 60 }),
    ]);
    expect(names(sorted)).toEqual(['reject_null_sender', 'greylisting', 'throttle', 'amavisd_wblist']);
  });

  it('orders extreme finite priorities correctly', () => {
    const sorted = sortPlugins([
      plugin('low', { priority: -Number.MAX_VALUE }),
      plugin('high', { priority: Number.MAX_VALUE }),
    ]);
    expect(names(sorted)).toEqual(['high', 'low']);
  });

  it('returns a frozen copy and leaves the input alone', () => {
    const input = [plugin('a'), plugin('b', { priority: 1 })];
    const sorted = sortPlugins(input);
    expect(Object.isFrozen(sorted)).toBe(true);
    expect(names(input)).toEqual(['a', 'b']);
    expect(sorted[0]).toBe(input[1]);
  });

  it('accepts an empty list', () => {
    expect(sortPlugins([])).toEqual([]);
  });

  it('accepts every known protocol state and every error policy', () => {
    const sorted = sortPlugins([
      plugin('all', { states: PROTOCOL_STATES, timeoutMs: 0.5, onError: 'skip' }),
      plugin('eom', { states: ['END-OF-MESSAGE'], onError: 'defer', init() {}, close() {} }),
      plugin('cut', { onError: 'disconnect' }),
    ]);
    expect(names(sorted)).toEqual(['all', 'eom', 'cut']);
  });

  it('refuses two plugins with the same name', () => {
    const err = thrown(() => sortPlugins([plugin('greylisting'), plugin('other'), plugin('greylisting')]));
    expect(err.code).toBe('POLICYD_ERR_DUPLICATE_PLUGIN');
    expect(err.plugin).toBe('greylisting');
    expect(err.message).toContain('"greylisting"');
  });

  it('refuses a list that is not an array', () => {
    const err = thrown(() => sortPlugins('greylisting' as unknown as PolicyPlugin[]));
    expect(err.code).toBe('POLICYD_ERR_INVALID_OPTION');
    expect(err.message).toContain('plugins');
  });

  it.each([
    ['null', null, 'plugin #0'],
    ['a string', 'greylisting', 'plugin #0'],
    ['a function', () => Decision.dunno(), 'plugin #0'],
  ])('refuses %s as a plugin', (_, value, label) => {
    const err = thrown(() => sortPlugins([value as unknown as PolicyPlugin]));
    expect(err.code).toBe('POLICYD_ERR_INVALID_OPTION');
    expect(err.message).toContain(label);
    expect(err.plugin).toBeUndefined();
  });

  it.each([
    ['missing', { check }],
    ['empty', { name: '', check }],
    ['blank', { name: '  ', check }],
    ['a number', { name: 7, check }],
  ])('refuses a name that is %s, naming the plugin by position', (_, value) => {
    const err = thrown(() => sortPlugins([plugin('first'), value as unknown as PolicyPlugin]));
    expect(err.code).toBe('POLICYD_ERR_INVALID_OPTION');
    expect(err.message).toContain('plugin #1');
    expect(err.message).toContain('"name"');
  });

  it.each<[string, Record<string, unknown>]>([
    ['check', { check: undefined }],
    ['check', { check: 'DUNNO' }],
    ['priority', { priority: Number.NaN }],
    ['priority', { priority: Number.POSITIVE_INFINITY }],
    ['priority', { priority: '10' }],
    ['states', { states: [] }],
    ['states', { states: 'RCPT' }],
    ['states', { states: ['rcpt'] }],
    ['states', { states: ['RCPT', 'UNKNOWN'] }],
    ['states', { states: [42] }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['timeoutMs', { timeoutMs: -1 }],
    ['timeoutMs', { timeoutMs: Number.POSITIVE_INFINITY }],
    ['timeoutMs', { timeoutMs: Number.NaN }],
    ['timeoutMs', { timeoutMs: '100' }],
    ['onError', { onError: 'ignore' }],
    ['onError', { onError: 1 }],
    ['init', { init: 'yes' }],
    ['close', { close: {} }],
  ])('refuses an invalid %s, naming the plugin and the field', (field, extra) => {
    const bad = { name: 'greylisting', check, ...extra } as unknown as PolicyPlugin;
    const err = thrown(() => sortPlugins([bad]));
    expect(err.code).toBe('POLICYD_ERR_INVALID_OPTION');
    expect(err.plugin).toBe('greylisting');
    expect(err.message).toContain('plugin "greylisting"');
    expect(err.message).toContain(`"${field}"`);
  });

  it('names the offending state value', () => {
    const err = thrown(() => sortPlugins([plugin('x', { states: ['RCPT', 'rcpt' as 'RCPT'] })]));
    expect(err.value).toBe('rcpt');
    expect(err.message).toContain('"rcpt"');
  });
});

describe('describePlugins', () => {
  it('prints one aligned line per plugin: priority, name, states', () => {
    const sorted = sortPlugins([
      plugin('throttle', { priority: 60, states: ['END-OF-MESSAGE'] }),
      plugin('reject_null_sender', { priority: 100 }),
      plugin('custom'),
      plugin('both', { priority: -3, states: ['RCPT', 'END-OF-MESSAGE'] }),
    ]);
    expect(describePlugins(sorted).split('\n')).toEqual([
      '100  reject_null_sender  RCPT',
      ' 60  throttle            END-OF-MESSAGE',
      '  0  custom              RCPT',
      ' -3  both                RCPT,END-OF-MESSAGE',
    ]);
  });

  it('prints nothing for no plugins', () => {
    expect(describePlugins([])).toBe('');
  });

  it('uses RCPT as the default state', () => {
    expect(DEFAULT_PLUGIN_STATES).toEqual(['RCPT']);
    expect(Object.isFrozen(DEFAULT_PLUGIN_STATES)).toBe(true);
  });
});

describe('showValue', () => {
  it('shows strings, arrays and objects as JSON and the rest as text', () => {
    expect(showValue('rcpt')).toBe('"rcpt"');
    expect(showValue([])).toBe('[]');
    expect(showValue({ action: 'X' })).toBe('{"action":"X"}');
    expect(showValue(Number.NaN)).toBe('NaN');
    expect(showValue(undefined)).toBe('undefined');
    expect(showValue(Symbol('s'))).toBe('Symbol(s)');
  });

  it('never throws, even for values JSON cannot show', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(showValue(circular)).toBe('[object Object]');
    expect(showValue({ n: 1n })).toBe('[object Object]');
  });
});
