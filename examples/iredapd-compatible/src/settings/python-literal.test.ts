import { isPolicydError } from '@policyd/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePythonSettings, type PlainValue } from './python-literal.ts';

const DEFAULTS = {
  MYNETWORKS: [],
  PLUGIN_PRIORITIES: {},
  RECIPIENT_DELIMITERS: ['+'],
  LOG_SMTP_SESSIONS: true,
};

const evaluate = (source: string, defaults: Record<string, PlainValue> = DEFAULTS) =>
  evaluatePythonSettings(source, { file: 'settings.py', defaults });
const value = (source: string, name = 'x') => evaluate(source).values.get(name);
const failure = (source: string, options: { maxValues?: number; maxLength?: number } = {}): string => {
  try {
    evaluatePythonSettings(source, { file: 'settings.py', defaults: DEFAULTS, ...options });
  } catch (err) {
    if (isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) return err.message;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(source)}`);
};

describe('evaluatePythonSettings: values', () => {
  it.each([
    ["x = 'a'", 'a'],
    ['x = "a" \'b\' """c"""', 'abc'],
    ["x = ('multi '\n     'line')", 'multi line'],
    ['x = 42', 42],
    ['x = -1', -1],
    ['x = +3.5', 3.5],
    ['x = True', true],
    ['x = False', false],
    ['x = None', null],
    ['x = []', []],
    ["x = ['a', 'b',]", ['a', 'b']],
    ['x = ()', []],
    ['x = (1,)', [1]],
    ['x = (1)', 1],
    ["x = 'a', 'b'", ['a', 'b']],
    ["x = 'trailing',", ['trailing']],
    ['x = {}', {}],
    ["x = {'a': 1, 'b': [True, None], 'a': 2}", { a: 2, b: [true, null] }],
    ["x = {'k': {'nested': ('t',)}}", { k: { nested: ['t'] } }],
  ])('%s', (source, expected) => {
    expect(value(source)).toEqual(expected);
  });

  it('returns dicts without a prototype, so any key is plain data', () => {
    const dict = value("x = {'__proto__': 1, 'constructor': 2}") as Record<string, number>;
    expect(Object.getPrototypeOf(dict)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(dict, '__proto__')?.value).toBe(1);
    expect(Object.keys(dict)).toEqual(['__proto__', 'constructor']);
  });

  it('freezes the values it returns', () => {
    expect(Object.isFrozen(value("x = ['a']"))).toBe(true);
    expect(Object.isFrozen(value("x = {'a': 1}"))).toBe(true);
  });

  it('binds the defaults, and again at the star import, and reports only what the file changes', () => {
    const { values, lines } = evaluate(
      "MYNETWORKS.append('10.0.0.1')\nfrom libs.default_settings import *\nlisten_port = 7777\n",
    );
    expect(values.get('MYNETWORKS')).toEqual([]); // the import re-binds the defaults, as in Python
    expect(values.get('RECIPIENT_DELIMITERS')).toEqual(['+']);
    expect([...lines]).toEqual([
      ['MYNETWORKS', 1],
      ['listen_port', 3],
    ]);
  });

  it('never changes the defaults object it was given', () => {
    const defaults = { MYNETWORKS: ['127.0.0.1'] as PlainValue[] };
    const { values } = evaluate("MYNETWORKS.append('10.0.0.1')", defaults);
    expect(values.get('MYNETWORKS')).toEqual(['127.0.0.1', '10.0.0.1']);
    expect(defaults.MYNETWORKS).toEqual(['127.0.0.1']);
  });

  it('supports the ways admins extend lists and dicts', () => {
    const { values } = evaluate(
      [
        "MYNETWORKS.append('10.0.0.0/8')",
        "MYNETWORKS += ['192.168.0.0/16']",
        "MYNETWORKS += ('172.16.0.0/12',)",
        "MYNETWORKS.extend(['198.51.100.1', '2001:db8::/32'])",
        "PLUGIN_PRIORITIES['amavisd_wblist'] = 90",
        "PLUGIN_PRIORITIES.update({'greylisting': 85, 'throttle': 70})",
        "GREETING = 'hello'",
        "GREETING += ', world'",
      ].join('\n'),
    );
    expect(values.get('MYNETWORKS')).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
      '172.16.0.0/12',
      '198.51.100.1',
      '2001:db8::/32',
    ]);
    expect(values.get('PLUGIN_PRIORITIES')).toEqual({ amavisd_wblist: 90, greylisting: 85, throttle: 70 });
    expect(values.get('GREETING')).toBe('hello, world');
  });

  it('resolves names bound earlier; a plain assignment aliases like Python', () => {
    const { values } = evaluate(
      "vmail_db_password = 'pw'\namavisd_db_password = vmail_db_password\nL = MYNETWORKS\nL.append('10.0.0.1')\n",
    );
    expect(values.get('amavisd_db_password')).toBe('pw');
    expect(values.get('MYNETWORKS')).toEqual(['10.0.0.1']);
  });

  it('copies a named container that is nested, so no value can contain itself', () => {
    const { values } = evaluate("L = [1]\nL.append(L)\nL.append(L)\nD = {}\nD['self'] = D\nT = L, 2\n");
    expect(values.get('L')).toEqual([1, [1], [1, [1]]]);
    expect(values.get('D')).toEqual({ self: {} });
    expect(values.get('T')).toEqual([[1, [1], [1, [1]]], 2]);
  });

  it('accepts docstrings, semicolons and comments after statements', () => {
    const { values } = evaluate('"""Module docstring."""\na = 1; b = 2;  # two\n\'note\' \'more\'\n');
    expect(values.get('a')).toBe(1);
    expect(values.get('b')).toBe(2);
  });

  it('keeps the last assignment of a name', () => {
    const { values, lines } = evaluate("log_level = 'info'\nlog_level = 'debug'\n");
    expect(values.get('log_level')).toBe('debug');
    expect(lines.get('log_level')).toBe(2);
  });
});

describe('evaluatePythonSettings: errors name the file, line, column and construct', () => {
  it.each([
    ["x = int('5')", /settings\.py:1:8: function calls are not supported/],
    ["x = os.getenv('PW')", /settings\.py:1:7: attribute access and method calls are not supported/],
    ["print('hello')", /settings\.py:1:6: function calls are not supported in settings \(print\(…\)\)/],
    ['x = 60 * 15', /settings\.py:1:8: expressions are not supported in settings \(operator '\*'\)/],
    ["x = 'a' + 'b'", /expressions are not supported in settings \(operator '\+'\)/],
    ['x = -y', /expressions are not supported in settings \(operator '-'\)/],
    ['x = not True', /expressions are not supported in settings \('not'\)/],
    ['x = 1 if True else 2', /conditional expressions are not supported/],
    ['x = [i for i in (1, 2)]', /comprehensions are not supported/],
    ['x = {k: 1 for k in ()}', /comprehensions are not supported/],
    ['x = lambda: 1', /lambda expressions are not supported/],
    ['x = [*MYNETWORKS]', /unpacking is not supported/],
    ['x = {**PLUGIN_PRIORITIES}', /unpacking is not supported/],
    ['x = MYNETWORKS[0]', /subscripts are not supported in values/],
    ["x = {'a', 'b'}", /set literals \(\{a, b\}\) are not supported/],
    ['x = {1: 2}', /dict keys must be strings, got int/],
    ['x = 1 2', /unexpected number \(missing comma\?\)/],
    ['x = [1 2]', /unexpected number \(missing comma\?\)/],
    ["x = ['a' b]", /unexpected name 'b' \(missing comma\?\)/],
    ['x = y = 1', /chained assignment/],
    ['x == 1', /settings\.py:1:3: expected '=' after the setting name x/],
    ['x', /expected '=' after the setting name x/],
    ['x =', /settings\.py:1:4: expected a value/],
    ['x = ]', /unmatched/],
    ['x = undefined_name', /settings\.py:1:5: name 'undefined_name' is not defined/],
    ['x = true', /name 'true' is not defined \(did you mean True\?\)/],
    ['x = null', /did you mean None\?/],
    ['import os', /settings\.py:1:1: only 'from libs.default_settings import \*' is supported/],
    [
      'from os import path',
      /only 'from libs.default_settings import \*' is supported, not an import from 'os'/,
    ],
    ['from libs.default_settings import MYNETWORKS', /only 'from libs.default_settings import \*'/],
    ['if True:\n    x = 1', /settings\.py:1:1: 'if' statements are not supported/],
    ['  x = 1', /settings\.py:1:1: unexpected indentation/],
    ['x = 1\n    y = 2', /settings\.py:2:1: unexpected indentation/],
    ['for x in []: pass', /'for' statements are not supported/],
    ['def f(): pass', /'def' statements are not supported/],
    ['del MYNETWORKS', /'del' statements are not supported/],
    ['True = 1', /cannot assign to True/],
    ['x: int = 1', /annotated assignments are not supported/],
    ['a, b = 1, 2', /unpacking assignments/],
    ['x -= 1', /augmented assignment '-=' is not supported/],
    ['LOG_SMTP_SESSIONS += 1', /'\+=' is supported on lists and strings only; LOG_SMTP_SESSIONS is bool/],
    ["MYNETWORKS += '10.0.0.1'", /'\+=' with a string would add its characters one by one/],
    ["MYNETWORKS += {'a': 1}", /needs a list or tuple, got dict/],
    ["s = 'a'\ns += 1", /settings\.py:2:3: cannot add int to the string s/],
    ["MYNETWORKS.extend('10.0.0.1')", /extend\(\) with a string would add its characters one by one/],
    ['MYNETWORKS.extend(5)', /extend\(\) needs a list or tuple, got int/],
    ["PLUGIN_PRIORITIES.append('x')", /append\(\) is supported on lists only; PLUGIN_PRIORITIES is dict/],
    ["MYNETWORKS.update({'a': 1})", /update\(\) is supported on dicts only; MYNETWORKS is list/],
    ["PLUGIN_PRIORITIES.update(['a'])", /update\(\) needs a dict, got list/],
    ["MYNETWORKS.insert(0, 'x')", /method MYNETWORKS\.insert\(\) is not supported/],
    ['MYNETWORKS.append()', /append\(\) needs one argument/],
    ["MYNETWORKS.append('a', 'b')", /append\(\) takes one argument/],
    ["MYNETWORKS.append(x='a')", /keyword arguments are not supported/],
    ["MYNETWORKS.sort = 'a'", /attribute assignment/],
    ["MYNETWORKS.append('a').x", /attribute access/],
    ["MYNETWORKS[0] = 'a'", /item assignment is supported on dicts only; MYNETWORKS is list/],
    ['PLUGIN_PRIORITIES[1] = 2', /dict keys must be strings, got int/],
    ["PLUGIN_PRIORITIES['a']['b'] = 1", /nested item assignment/],
    ["PLUGIN_PRIORITIES['a'] += 1", /expected '=' after PLUGIN_PRIORITIES\[…\]/],
    ["NOT_BOUND.append('x')", /name 'NOT_BOUND' is not defined/],
    ['1 = x', /expected a setting name at the start of a statement, got '1'/],
    ["'docstring' x", /unexpected name 'x'/],
    ['x = 1 y = 2', /unexpected name 'y'/],
  ])('%j', (source, message) => {
    expect(failure(source)).toMatch(message);
  });

  it('puts the construct in the error value', () => {
    try {
      evaluate('\n\nx = compute()');
      expect.unreachable();
    } catch (err) {
      expect(isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION') && err.message).toMatch(/^settings\.py:3:12:/);
      expect((err as { value: unknown }).value).toBe('(');
    }
  });
});

describe('evaluatePythonSettings: hostile input', () => {
  it('refuses a file over the size bound before parsing it', () => {
    expect(failure(`x = '${'a'.repeat(2000)}'`, { maxLength: 1000 })).toMatch(
      /^settings\.py: settings file is larger than 1000 characters/,
    );
  });

  it('parses a large but legal file in reasonable time', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `S${i} = ['10.${i % 250}.0.0/16', ${i}]  # ${i}`);
    const started = performance.now();
    const { values } = evaluate(lines.join('\n'));
    expect(values.get('S19999')).toEqual(['10.249.0.0/16', 19999]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('stops self-doubling lists and strings', () => {
    expect(failure(`L = [1]\n${'L += L\n'.repeat(40)}`)).toMatch(/creates more than 250000 values/);
    expect(failure(`L = [1]\n${'L.extend(L)\n'.repeat(40)}`, { maxValues: 1000 })).toMatch(/more than 1000/);
    expect(failure(`s = 'ab'\n${'s += s\n'.repeat(40)}`, { maxLength: 100_000 })).toMatch(
      /string longer than 100000 characters/,
    );
  });

  it('bounds the depth of values built by nesting names', () => {
    expect(failure(`L = []\n${'L = [L]\n'.repeat(40)}`)).toMatch(/values nested deeper than 32 levels/);
  });

  it('bounds literal nesting', () => {
    expect(failure(`x = ${'['.repeat(100)}${']'.repeat(100)}`)).toMatch(/nested deeper than 32 levels/);
  });

  it('never throws anything but a coded error, whatever the input', () => {
    const alphabet = fc.constantFrom(
      ...'abxyzTFN_019.,:;=+-*/()[]{}\'"#\\ \t\n\r@!?<>rfbu'.split(''),
      'True',
      'None',
      "'''",
      '"""',
      'from ',
      'import ',
      '.append(',
      'MYNETWORKS',
      'PLUGIN_PRIORITIES',
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), (parts) => {
        try {
          evaluate(parts.join(''));
        } catch (err) {
          if (!isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) throw err;
          expect(err.message).toMatch(/^settings\.py(:\d+:\d+)?: /);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
