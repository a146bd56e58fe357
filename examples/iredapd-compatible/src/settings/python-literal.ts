/**
 * Evaluator for iRedAPD's `settings.py`: the literal subset of Python that admins and iRedMail's installer
 * write. Supported statements:
 *
 * - `from libs.default_settings import *` (binds iRedAPD's defaults again; files without it get them too);
 * - `NAME = value`, where a value is a string (any quotes, raw, escapes, implicit concatenation), an int
 *   (underscores, hex/octal/binary, unary minus), a float, `True`/`False`/`None`, a list, a tuple, a dict with
 *   string keys, or the name of a setting bound earlier;
 * - `NAME['key'] = value` on dicts (`PLUGIN_PRIORITIES['greylisting'] = 85`);
 * - `NAME += [...]`, `NAME.append(x)`, `NAME.extend([...])` on lists, `NAME += '...'` on strings and
 *   `NAME.update({...})` on dicts;
 * - comments, blank lines, line breaks inside brackets, `\` continuations, `;` between statements and
 *   docstrings.
 *
 * Anything else (function calls, operators, other imports, `if`, f-strings, comprehensions, …) is a start-up
 * error naming the file, line, column and construct: a setting is never silently ignored.
 */

import { DEFAULT_MAX_NESTING, type PythonToken, tokenizePython } from './python-lexer.ts';
import { sourceError } from './source-error.ts';

/** A settings value as plain data: what a Python literal or a JSON document can hold. */
export type PlainValue =
  | string
  | number
  | boolean
  | null
  | readonly PlainValue[]
  | { readonly [key: string]: PlainValue };

/** Options of {@link evaluatePythonSettings}. */
export interface PythonSettingsOptions {
  /** File name used in error messages. */
  readonly file: string;
  /** What `from libs.default_settings import *` binds; bound before the first statement too. */
  readonly defaults?: Readonly<Record<string, PlainValue>>;
  /** Largest accepted source, in UTF-16 code units; default 1 MiB. Also bounds every string value. */
  readonly maxLength?: number;
  /** Deepest allowed nesting of brackets and values; default 32. */
  readonly maxDepth?: number;
  /** Most values (list items, dict entries, scalars) the file may create in all; default 250 000. */
  readonly maxValues?: number;
}

/** The result of {@link evaluatePythonSettings}. */
export interface PythonSettings {
  /** Every bound name, defaults included, with its final value (lists and tuples become frozen arrays). */
  readonly values: ReadonlyMap<string, PlainValue>;
  /** The names the file assigned or changed, each with the line of the last statement that did. */
  readonly lines: ReadonlyMap<string, number>;
}

/** Default bound of a settings file's size: iRedMail's is about 3 KiB. */
export const DEFAULT_MAX_SETTINGS_LENGTH = 1024 * 1024;

const DEFAULT_MAX_VALUES = 250_000;

const DEFAULTS_MODULE = 'libs.default_settings';

// Python's hard keywords: none can start or be part of a settings statement.
const KEYWORDS: ReadonlySet<string> = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
]);

const LIST_METHODS = 'append() and extend() on lists, update() on dicts';

interface PyList {
  readonly kind: 'list';
  readonly items: PyValue[];
}
interface PyTuple {
  readonly kind: 'tuple';
  readonly items: readonly PyValue[];
}
interface PyDict {
  readonly kind: 'dict';
  readonly entries: Map<string, PyValue>;
}
type PyValue = string | number | boolean | null | PyList | PyTuple | PyDict;

function typeName(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return value.kind;
}

function toPlain(value: PyValue): PlainValue {
  if (value === null || typeof value !== 'object') return value;
  if (value.kind === 'dict') {
    const out: Record<string, PlainValue> = Object.create(null);
    for (const [k, v] of value.entries) out[k] = toPlain(v);
    return Object.freeze(out);
  }
  return Object.freeze(value.items.map(toPlain));
}

function describeFollower(token: PythonToken): string {
  const t = token.text;
  if (token.kind === 'op') {
    if (t === '(') return 'function calls are not supported in settings';
    if (t === '.') return 'attribute access and method calls are not supported in values';
    if (t === '[') return 'subscripts are not supported in values';
    if (t === '=') return 'chained assignment (a = b = …) is not supported';
    return `expressions are not supported in settings (operator '${t}'): write the literal value`;
  }
  if (token.kind === 'name') {
    if (t === 'if') return 'conditional expressions are not supported in settings';
    if (t === 'for' || t === 'async') return 'comprehensions are not supported in settings';
    if (KEYWORDS.has(t)) return `expressions are not supported in settings ('${t}')`;
    return `unexpected name '${t}' (missing comma?)`;
  }
  if (token.kind === 'number' || token.kind === 'string') return `unexpected ${token.kind} (missing comma?)`;
  return 'unexpected token';
}

/**
 * Evaluate a `settings.py` written in the literal subset described in this module's comment.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` whose message starts with `file:line:col:` for any
 * construct outside the subset, an undefined name, a type error (`.append` on a dict, `+=` of a string to a
 * list), and when a bound (size, nesting, number of values) is exceeded.
 *
 * @example
 * ```ts
 * const { values, lines } = evaluatePythonSettings(
 *   "from libs.default_settings import *\nPLUGIN_PRIORITIES['greylisting'] = 30\n",
 *   { file: 'settings.py', defaults: { PLUGIN_PRIORITIES: {} } },
 * );
 * values.get('PLUGIN_PRIORITIES'); // { greylisting: 30 }
 * lines.get('PLUGIN_PRIORITIES'); // 2
 * ```
 */
export function evaluatePythonSettings(source: string, options: PythonSettingsOptions): PythonSettings {
  const { file } = options;
  const maxLength = options.maxLength ?? DEFAULT_MAX_SETTINGS_LENGTH;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_NESTING;
  const maxValues = options.maxValues ?? DEFAULT_MAX_VALUES;
  if (source.length > maxLength) {
    throw sourceError(file, undefined, `settings file is larger than ${maxLength} characters`, source.length);
  }
  const tokens = tokenizePython(source, { file, maxDepth });
  const names = new Map<string, PyValue>();
  const lines = new Map<string, number>();
  let p = 0;
  let created = 0;

  const peek = (): PythonToken => tokens[p]!;
  const next = (): PythonToken => tokens[p++]!;
  const fail: (at: PythonToken, message: string, construct?: unknown) => never = (at, message, construct) => {
    throw sourceError(file, at, message, construct ?? at.text);
  };
  const isOp = (token: PythonToken, op: string): boolean => token.kind === 'op' && token.text === op;
  const accept = (op: string): boolean => {
    if (!isOp(peek(), op)) return false;
    p += 1;
    return true;
  };
  const expect = (op: string, what: string): PythonToken => {
    const token = next();
    if (!isOp(token, op)) fail(token, `expected '${op}' ${what}`);
    return token;
  };
  const count = (at: PythonToken, n = 1): void => {
    created += n;
    if (created > maxValues) fail(at, `settings file creates more than ${maxValues} values`);
  };
  const endsStatement = (token: PythonToken): boolean =>
    token.kind === 'newline' || token.kind === 'eof' || isOp(token, ';');
  const endsValue = (token: PythonToken): boolean =>
    endsStatement(token) || (token.kind === 'op' && [',', ')', ']', '}', ':'].includes(token.text));

  // A container reached through a name is copied when it is nested or added to another container, so no
  // value ever contains itself (`L.append(L)`), and depth and size stay bounded.
  const copy = (value: PyValue, level: number, at: PythonToken): PyValue => {
    count(at);
    if (value === null || typeof value !== 'object') return value;
    if (level > maxDepth) fail(at, `values nested deeper than ${maxDepth} levels`);
    if (value.kind === 'dict') {
      const entries = new Map<string, PyValue>();
      for (const [k, v] of value.entries) entries.set(k, copy(v, level + 1, at));
      return { kind: 'dict', entries };
    }
    const items = value.items.map((v) => copy(v, level + 1, at));
    return value.kind === 'list' ? { kind: 'list', items } : { kind: 'tuple', items: Object.freeze(items) };
  };

  const bindDefaults = (): void => {
    const fromPlain = (value: PlainValue): PyValue => {
      if (value === null || typeof value !== 'object') return value;
      if (Array.isArray(value)) return { kind: 'list', items: value.map(fromPlain) };
      const entries = new Map<string, PyValue>();
      for (const [k, v] of Object.entries(value as Record<string, PlainValue>)) entries.set(k, fromPlain(v));
      return { kind: 'dict', entries };
    };
    for (const [name, value] of Object.entries(options.defaults ?? {})) names.set(name, fromPlain(value));
  };

  const lookup = (token: PythonToken): PyValue => {
    const value = names.get(token.text);
    if (value !== undefined) return value;
    const hint = ({ true: 'True', false: 'False', none: 'None', null: 'None' } as Record<string, string>)[
      token.text.toLowerCase()
    ];
    return fail(token, `name '${token.text}' is not defined${hint ? ` (did you mean ${hint}?)` : ''}`);
  };

  const parseString = (first: PythonToken): string => {
    let text = first.value as string;
    while (peek().kind === 'string') text += next().value as string;
    if (text.length > maxLength) fail(first, `string longer than ${maxLength} characters`);
    return text;
  };

  const parseSequence = (open: PythonToken, close: string, level: number): PyValue[] => {
    const items: PyValue[] = [];
    while (!accept(close)) {
      items.push(parseValue(level + 1, true));
      if (!accept(',')) {
        const token = peek();
        if (!isOp(token, close))
          fail(token, `expected ',' or '${close}' after an item of the '${open.text}'`);
      }
    }
    return items;
  };

  const parseBraces = (open: PythonToken, level: number): PyValue => {
    const entries = new Map<string, PyValue>();
    if (accept('}')) return { kind: 'dict', entries };
    for (;;) {
      const keyToken = peek();
      const key = parseValue(level + 1, true);
      if (!accept(':')) {
        if (isOp(peek(), ',') || isOp(peek(), '}')) {
          fail(open, "set literals ({a, b}) are not supported: a dict needs 'key': value pairs");
        }
        fail(peek(), "expected ':' after a dict key");
      }
      if (typeof key !== 'string') fail(keyToken, `dict keys must be strings, got ${typeName(key)}`);
      const value = parseValue(level + 1, true);
      entries.set(key as string, value);
      if (accept('}')) return { kind: 'dict', entries };
      expect(',', "or '}' after a dict entry");
      if (accept('}')) return { kind: 'dict', entries };
    }
  };

  // A comprehension is only recognisable at its `for`, after names it binds; find it before using them.
  const rejectComprehension = (): void => {
    let depth = 0;
    for (let i = p; i < tokens.length; i += 1) {
      const token = tokens[i]!;
      if (token.kind === 'op' && ['(', '[', '{'].includes(token.text)) depth += 1;
      else if (token.kind === 'op' && [')', ']', '}'].includes(token.text)) {
        if (depth === 0) return;
        depth -= 1;
      } else if (depth === 0 && token.kind === 'name' && token.text === 'for') {
        fail(token, 'comprehensions are not supported in settings');
      } else if (token.kind === 'eof') return;
    }
  };

  const parseAtom = (level: number, nested: boolean): PyValue => {
    const token = next();
    count(token);
    if (token.kind === 'op' && ['(', '[', '{'].includes(token.text)) rejectComprehension();
    if (token.kind === 'string') return parseString(token);
    if (token.kind === 'number') return token.value as number;
    if (token.kind === 'name') {
      if (token.text === 'True') return true;
      if (token.text === 'False') return false;
      if (token.text === 'None') return null;
      if (token.text === 'lambda') fail(token, 'lambda expressions are not supported in settings');
      if (KEYWORDS.has(token.text))
        fail(token, `expressions are not supported in settings ('${token.text}')`);
      // `int('5')` or `os.environ` is a call or attribute first, whether or not the name exists.
      if (!endsValue(peek())) fail(peek(), describeFollower(peek()));
      const value = lookup(token);
      return nested ? copy(value, level, token) : value;
    }
    if (token.kind === 'op') {
      if (token.text === '-' || token.text === '+') {
        const operand = peek();
        if (operand.kind !== 'number') {
          fail(token, `expressions are not supported in settings (operator '${token.text}')`);
        }
        p += 1;
        const value = operand.value as number;
        return token.text === '-' ? -value : value;
      }
      if (token.text === '[') {
        return { kind: 'list', items: parseSequence(token, ']', level) };
      }
      if (token.text === '(') {
        if (accept(')')) return { kind: 'tuple', items: Object.freeze([]) };
        const first = parseValue(level + 1, nested);
        if (accept(')')) return first; // parentheses around one value
        expect(',', "or ')' after a value in parentheses");
        const rest = parseSequence(token, ')', level);
        return {
          kind: 'tuple',
          items: Object.freeze([nested ? first : copy(first, level + 1, token), ...rest]),
        };
      }
      if (token.text === '{') return parseBraces(token, level);
      if (token.text === '*' || token.text === '**') fail(token, 'unpacking is not supported in settings');
    }
    if (endsStatement(token)) return fail(token, 'expected a value', '');
    return fail(token, `expected a value, got '${token.text}'`);
  };

  function parseValue(level: number, nested: boolean): PyValue {
    const value = parseAtom(level, nested);
    const follower = peek();
    if (!endsValue(follower)) fail(follower, describeFollower(follower));
    return value;
  }

  // A value after `=`: a bare `a, b` is a tuple, as in Python.
  const parseValueList = (nested: boolean): PyValue => {
    const start = peek();
    const first = parseValue(0, nested);
    if (!isOp(peek(), ',')) return first;
    const items = [nested ? first : copy(first, 1, start)]; // a tuple never shares a named container
    while (accept(',')) {
      if (endsStatement(peek())) break;
      items.push(parseValue(1, true));
    }
    return { kind: 'tuple', items: Object.freeze(items) };
  };

  const endStatement = (): void => {
    const token = peek();
    if (!endsStatement(token)) fail(token, describeFollower(token));
  };

  const parseImport = (from: PythonToken): void => {
    const parts: string[] = [];
    do {
      const part = next();
      if (part.kind !== 'name') fail(part, 'expected a module name after from');
      parts.push(part.text);
    } while (accept('.'));
    const keyword = next();
    const star = next();
    const module = parts.join('.');
    if (module !== DEFAULTS_MODULE || keyword.text !== 'import' || !isOp(star, '*')) {
      fail(
        from,
        `only 'from ${DEFAULTS_MODULE} import *' is supported, not an import from '${module}'`,
        module,
      );
    }
    bindDefaults();
  };

  const augment = (target: PythonToken, op: PythonToken): void => {
    const current = lookup(target);
    const added = parseValueList(true);
    if (typeof current === 'string') {
      if (typeof added !== 'string') fail(op, `cannot add ${typeName(added)} to the string ${target.text}`);
      const text = current + (added as string);
      if (text.length > maxLength) fail(op, `string longer than ${maxLength} characters`);
      names.set(target.text, text);
      return;
    }
    if (current === null || typeof current !== 'object' || current.kind !== 'list') {
      fail(op, `'+=' is supported on lists and strings only; ${target.text} is ${typeName(current)}`);
    }
    if (typeof added === 'string') {
      fail(op, `'+=' with a string would add its characters one by one: write ${target.text} += ['…']`);
    }
    if (added === null || typeof added !== 'object' || added.kind === 'dict') {
      fail(op, `'+=' on the list ${target.text} needs a list or tuple, got ${typeName(added)}`);
    }
    current.items.push(...(added as PyList | PyTuple).items);
  };

  const assignItem = (target: PythonToken, open: PythonToken): void => {
    const current = lookup(target);
    const keyToken = peek();
    const key = parseValue(1, true);
    expect(']', 'after the key');
    if (isOp(peek(), '[') || isOp(peek(), '.')) fail(peek(), 'nested item assignment is not supported');
    const assign = next();
    if (!isOp(assign, '=')) fail(assign, `expected '=' after ${target.text}[…]`);
    if (current === null || typeof current !== 'object' || current.kind !== 'dict') {
      fail(open, `item assignment is supported on dicts only; ${target.text} is ${typeName(current)}`);
    }
    if (typeof key !== 'string') fail(keyToken, `dict keys must be strings, got ${typeName(key)}`);
    (current as PyDict).entries.set(key as string, parseValueList(true));
  };

  const callMethod = (target: PythonToken): void => {
    const method = next();
    if (method.kind !== 'name') fail(method, 'expected a method name after .');
    if (isOp(peek(), '='))
      fail(peek(), `attribute assignment (${target.text}.${method.text} = …) is not supported`);
    if (!['append', 'extend', 'update'].includes(method.text)) {
      fail(method, `method ${target.text}.${method.text}() is not supported (supported: ${LIST_METHODS})`);
    }
    expect('(', `after ${target.text}.${method.text}`);
    const current = lookup(target);
    const argToken = peek();
    if (isOp(argToken, ')')) fail(argToken, `${method.text}() needs one argument`);
    if (argToken.kind === 'name' && isOp(tokens[p + 1]!, '=')) {
      fail(argToken, 'keyword arguments are not supported in settings');
    }
    const arg = parseValue(1, true);
    accept(',');
    expect(')', `: ${method.text}() takes one argument`);
    const kind = current !== null && typeof current === 'object' ? current.kind : typeName(current);
    const argKind = arg !== null && typeof arg === 'object' ? arg.kind : typeName(arg);
    if (method.text === 'update') {
      if (kind !== 'dict') fail(method, `update() is supported on dicts only; ${target.text} is ${kind}`);
      if (argKind !== 'dict') fail(argToken, `update() needs a dict, got ${argKind}`);
      for (const [k, v] of (arg as PyDict).entries) (current as PyDict).entries.set(k, v);
      return;
    }
    if (kind !== 'list')
      fail(method, `${method.text}() is supported on lists only; ${target.text} is ${kind}`);
    const list = current as PyList;
    if (method.text === 'append') {
      list.items.push(arg);
      return;
    }
    if (argKind === 'str') {
      fail(
        argToken,
        `extend() with a string would add its characters one by one: use ${target.text}.append()`,
      );
    }
    if (argKind !== 'list' && argKind !== 'tuple')
      fail(argToken, `extend() needs a list or tuple, got ${argKind}`);
    list.items.push(...(arg as PyList | PyTuple).items);
  };

  const parseStatement = (): void => {
    const first = next();
    if (first.kind === 'indent') {
      fail(first, 'unexpected indentation (statements in settings must start at the beginning of the line)');
    }
    if (first.kind === 'string') {
      while (peek().kind === 'string') p += 1;
      if (endsStatement(peek())) return; // a docstring
      fail(peek(), describeFollower(peek()));
    }
    if (first.kind !== 'name') {
      fail(first, `expected a setting name at the start of a statement, got '${first.text}'`);
    }
    if (first.text === 'from') {
      parseImport(first);
      return;
    }
    if (first.text === 'import') fail(first, `only 'from ${DEFAULTS_MODULE} import *' is supported`);
    if (['True', 'False', 'None'].includes(first.text)) fail(first, `cannot assign to ${first.text}`);
    if (KEYWORDS.has(first.text)) {
      fail(first, `'${first.text}' statements are not supported in settings`);
    }
    const op = next();
    if (isOp(op, '=')) {
      names.set(first.text, parseValueList(false));
    } else if (isOp(op, '+=')) {
      augment(first, op);
    } else if (isOp(op, '[')) {
      assignItem(first, op);
    } else if (isOp(op, '.')) {
      callMethod(first);
    } else if (isOp(op, '(')) {
      fail(op, `function calls are not supported in settings (${first.text}(…))`);
    } else if (isOp(op, ':')) {
      fail(op, 'annotated assignments are not supported in settings');
    } else if (isOp(op, ',')) {
      fail(op, 'unpacking assignments (a, b = …) are not supported in settings');
    } else if (op.kind === 'op' && op.text.endsWith('=') && op.text.length > 1 && op.text !== '==') {
      fail(op, `augmented assignment '${op.text}' is not supported (only += on lists and strings)`);
    } else {
      fail(op, `expected '=' after the setting name ${first.text}`);
    }
    lines.set(first.text, first.line);
  };

  bindDefaults();
  while (peek().kind !== 'eof') {
    parseStatement();
    while (accept(';')) {
      if (peek().kind === 'newline' || peek().kind === 'eof') break;
      parseStatement();
    }
    endStatement();
    if (peek().kind === 'newline') p += 1;
  }

  const values = new Map<string, PlainValue>();
  for (const [name, value] of names) values.set(name, toPlain(value));
  return { values, lines };
}
