/**
 * Tokenizer for the literal subset of Python that iRedAPD's `settings.py` is written in: names, string and
 * number literals, operators and logical line ends. Python's own rules are followed where they matter for a
 * settings file (implicit line joining inside brackets, `\` continuations, string prefixes and escapes,
 * underscores in numbers); everything it cannot represent is an error naming the file, line and column.
 */

import { type SourcePosition, sourceError } from './source-error.ts';

/** Kinds of {@link PythonToken}. */
export type PythonTokenKind = 'name' | 'string' | 'number' | 'op' | 'newline' | 'indent' | 'eof';

/** One token of a settings file. */
export interface PythonToken extends SourcePosition {
  /** What the token is. */
  readonly kind: PythonTokenKind;
  /** The source text (for strings, the literal as written, quotes and prefix included). */
  readonly text: string;
  /** The decoded value of a string or number literal. */
  readonly value?: string | number;
}

/** Options of {@link tokenizePython}. */
export interface TokenizeOptions {
  /** File name used in error messages. */
  readonly file: string;
  /** Deepest allowed bracket nesting; default 32. */
  readonly maxDepth?: number;
}

/** Default bracket nesting bound: real settings nest two levels at most. */
export const DEFAULT_MAX_NESTING = 32;

// Longest first, so `**=` wins over `**` and `*`.
const OPERATORS: readonly string[] = Object.freeze([
  '**=',
  '//=',
  '>>=',
  '<<=',
  '...',
  '->',
  ':=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '@=',
  '==',
  '!=',
  '<=',
  '>=',
  '**',
  '//',
  '<<',
  '>>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '@',
  '&',
  '|',
  '^',
  '~',
  '<',
  '>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  ';',
  '=',
  '!',
]);

const CLOSING: Readonly<Record<string, string>> = Object.freeze({ ')': '(', ']': '[', '}': '{' });

const STRING_PREFIXES: ReadonlySet<string> = new Set(['r', 'u', 'b', 'f', 'br', 'rb', 'fr', 'rf']);

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = Object.freeze({
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
});

const NUMBER_PATTERNS: readonly RegExp[] = Object.freeze([
  /0[xX](?:_?[0-9a-fA-F])+/y,
  /0[oO](?:_?[0-7])+/y,
  /0[bB](?:_?[01])+/y,
  // floats: 1.5, .5, 1., with optional exponent; or 1e5
  /(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.)(?:[eE][+-]?\d(?:_?\d)*)?|\d(?:_?\d)*[eE][+-]?\d(?:_?\d)*/y,
  /\d(?:_?\d)*/y,
]);

const isNameStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isNameChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNewline = (c: string | undefined): boolean => c === '\n' || c === '\r';

function showChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f || code > 0x7e
    ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
    : `'${c}'`;
}

/**
 * Split a settings file into tokens. Comments, blank lines and line breaks inside brackets are dropped;
 * a `newline` token ends each logical line, an `indent` token marks a statement that does not start in the
 * first column (settings have no blocks, so the evaluator rejects it), and an `eof` token ends the list.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming `file:line:col` for an unterminated string, an
 * unbalanced or too deeply nested bracket, f-strings, bytes literals, malformed numbers,
 * NUL bytes and characters that are not Python.
 *
 * @example
 * ```ts
 * tokenizePython("MYNETWORKS = ['10.0.0.0/8']\n", { file: 'settings.py' }).map((t) => t.kind);
 * // ['name', 'op', 'op', 'string', 'op', 'newline', 'eof']
 * ```
 */
export function tokenizePython(source: string, options: TokenizeOptions): PythonToken[] {
  const { file } = options;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_NESTING;
  const src = source;
  const n = src.length;
  const tokens: PythonToken[] = [];
  const brackets: { readonly ch: string; readonly line: number; readonly col: number }[] = [];
  let i = src.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;

  const pos = (at: number): SourcePosition => ({ line, col: at - lineStart + 1 });
  const fail: (at: number, message: string, construct?: unknown) => never = (at, message, construct) => {
    throw sourceError(file, pos(at), message, construct);
  };
  // Consumes one line break (LF, CRLF or CR) at src[at]; returns the index after it.
  const breakLine = (at: number): number => {
    const next = src[at] === '\r' && src[at + 1] === '\n' ? at + 2 : at + 1;
    line += 1;
    lineStart = next;
    return next;
  };
  const push = (kind: PythonTokenKind, text: string, at: SourcePosition, value?: string | number): void => {
    tokens.push(value === undefined ? { kind, text, ...at } : { kind, text, value, ...at });
  };

  const readString = (prefixStart: number, prefix: string): void => {
    const at = pos(prefixStart);
    const lower = prefix.toLowerCase();
    if (lower.includes('f')) {
      fail(prefixStart, 'f-strings are not supported in settings: write a plain string', prefix);
    }
    if (lower.includes('b')) fail(prefixStart, "bytes literals (b'…') are not supported in settings", prefix);
    const raw = lower.includes('r');
    const quote = src[i]!;
    const triple = src.startsWith(quote.repeat(3), i);
    const close = triple ? quote.repeat(3) : quote;
    i += close.length;
    let out = '';
    for (;;) {
      if (i >= n) {
        throw sourceError(
          file,
          at,
          triple ? 'unterminated triple-quoted string' : 'unterminated string',
          src.slice(prefixStart, prefixStart + 40),
        );
      }
      const c = src[i]!;
      if (src.startsWith(close, i)) {
        i += close.length;
        break;
      }
      if (isNewline(c)) {
        if (!triple) {
          throw sourceError(
            file,
            at,
            'unterminated string (only triple-quoted strings may span lines)',
            src.slice(prefixStart, i),
          );
        }
        out += '\n';
        i = breakLine(i);
        continue;
      }
      if (c === '\0') fail(i, 'NUL byte in string');
      if (c !== '\\') {
        out += c;
        i += 1;
        continue;
      }
      const next = src[i + 1];
      if (next === undefined) {
        i = n; // a backslash as the last character: reported as unterminated on the next turn
        continue;
      }
      if (raw) {
        // A raw string keeps the backslash and the character after it, even a quote or a line break.
        if (isNewline(next)) {
          out += '\\\n';
          i = breakLine(i + 1);
        } else {
          out += `\\${next}`;
          i += 2;
        }
        continue;
      }
      if (isNewline(next)) {
        i = breakLine(i + 1); // backslash-newline inside a string joins the lines
        continue;
      }
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        out += simple;
        i += 2;
        continue;
      }
      if (next >= '0' && next <= '7') {
        const digits = /[0-7]{1,3}/y;
        digits.lastIndex = i + 1;
        const m = digits.exec(src)![0];
        out += String.fromCharCode(Number.parseInt(m, 8));
        i += 1 + m.length;
        continue;
      }
      const hexLength = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
      if (hexLength > 0) {
        const hex = src.slice(i + 2, i + 2 + hexLength);
        const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === hexLength ? Number.parseInt(hex, 16) : -1;
        if (code < 0 || code > 0x10ffff) fail(i, `invalid \\${next} escape in string`, src.slice(i, i + 10));
        out += String.fromCodePoint(code);
        i += 2 + hexLength;
        continue;
      }
      if (next === 'N') fail(i, 'named Unicode escapes (\\N{…}) are not supported in settings');
      out += `\\${next}`; // Python keeps unknown escapes as written
      i += 2;
    }
    push('string', src.slice(prefixStart, i), at, out);
  };

  const readNumber = (): void => {
    const start = i;
    let text = '';
    let pattern = 0;
    for (const [index, re] of NUMBER_PATTERNS.entries()) {
      re.lastIndex = start;
      const m = re.exec(src);
      if (m !== null) {
        text = m[0];
        pattern = index;
        break;
      }
    }
    const end = start + text.length;
    if (text === '' || isNameChar(src[end]) || src[end] === '.') {
      let stop = end;
      while (isNameChar(src[stop]) || src[stop] === '.') stop += 1;
      fail(start, 'invalid number literal', src.slice(start, stop));
    }
    const digits = text.replaceAll('_', '');
    let value: number;
    if (pattern <= 2) {
      value = Number.parseInt(digits.slice(2), [16, 8, 2][pattern]);
    } else if (pattern === 3) {
      value = Number(digits);
      if (!Number.isFinite(value)) fail(start, 'number literal out of range', text);
    } else {
      if (/^0+[1-9]/.test(digits)) {
        fail(start, 'leading zeros are not allowed in a decimal number (write 0o… for octal)', text);
      }
      value = Number(digits);
    }
    if (pattern !== 3 && !Number.isSafeInteger(value)) fail(start, 'integer literal too large', text);
    push('number', text, pos(start), value);
    i = end;
  };

  while (i < n) {
    const c = src[i]!;
    if (atLineStart) {
      // Python would reject an indented statement outside a block; there are no blocks in settings.
      let j = i;
      while (src[j] === ' ' || src[j] === '\t' || src[j] === '\f') j += 1;
      // Reported by the evaluator, so that `if x:` on the line before is named instead.
      if (j > i && j < n && !isNewline(src[j]) && src[j] !== '#') push('indent', src.slice(i, j), pos(i));
      atLineStart = false;
      i = j;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      i += 1;
    } else if (isNewline(c)) {
      if (brackets.length === 0) {
        const last = tokens.at(-1);
        if (last !== undefined && last.kind !== 'newline') push('newline', '', pos(i));
        atLineStart = true;
      }
      i = breakLine(i);
    } else if (c === '#') {
      while (i < n && !isNewline(src[i])) {
        if (src[i] === '\0') fail(i, 'NUL byte in comment');
        i += 1;
      }
    } else if (c === '\\') {
      if (!isNewline(src[i + 1]))
        fail(i, "unexpected character '\\' (a line continuation must end the line)");
      i = breakLine(i + 1);
    } else if (isNameStart(c)) {
      const start = i;
      while (isNameChar(src[i])) i += 1;
      const name = src.slice(start, i);
      if ((src[i] === "'" || src[i] === '"') && STRING_PREFIXES.has(name.toLowerCase())) {
        readString(start, name);
      } else {
        push('name', name, pos(start));
      }
    } else if (isDigit(c) || (c === '.' && isDigit(src[i + 1]))) {
      readNumber();
    } else if (c === "'" || c === '"') {
      readString(i, '');
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (op === undefined) fail(i, `unexpected character ${showChar(c)}`, c);
      const at = pos(i);
      if (op === '(' || op === '[' || op === '{') {
        if (brackets.length >= maxDepth) fail(i, `brackets nested deeper than ${maxDepth} levels`);
        brackets.push({ ch: op, line: at.line, col: at.col });
      } else if (op === ')' || op === ']' || op === '}') {
        const open = brackets.pop();
        if (open === undefined) fail(i, `unmatched '${op}'`);
        if (open.ch !== CLOSING[op]) {
          fail(i, `'${op}' does not match '${open.ch}' opened at line ${open.line}, column ${open.col}`);
        }
      }
      push('op', op!, at);
      i += op!.length;
    }
  }
  const open = brackets.at(-1);
  if (open !== undefined) {
    throw sourceError(file, open, `'${open.ch}' is never closed`);
  }
  const last = tokens.at(-1);
  if (last !== undefined && last.kind !== 'newline') push('newline', '', pos(i));
  push('eof', '', pos(i));
  return tokens;
}
