import { isPolicydError } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { tokenizePython } from './python-lexer.ts';

const lex = (source: string) => tokenizePython(source, { file: 'settings.py' });
const values = (source: string) => lex(source).flatMap((t) => (t.value === undefined ? [] : [t.value]));
const lexError = (source: string): string => {
  try {
    lex(source);
  } catch (err) {
    if (isPolicydError(err, 'POLICYD_ERR_INVALID_OPTION')) return err.message;
    throw err;
  }
  throw new Error(`no error for ${JSON.stringify(source)}`);
};

describe('tokenizePython', () => {
  it('splits a statement into tokens with positions and ends with newline and eof', () => {
    const tokens = lex("MYNETWORKS = ['10.0.0.0/8']");
    expect(tokens.map((t) => [t.kind, t.text])).toEqual([
      ['name', 'MYNETWORKS'],
      ['op', '='],
      ['op', '['],
      ['string', "'10.0.0.0/8'"],
      ['op', ']'],
      ['newline', ''],
      ['eof', ''],
    ]);
    expect(tokens[3]).toMatchObject({ line: 1, col: 15, value: '10.0.0.0/8' });
  });

  it('drops comments, blank lines and line breaks inside brackets', () => {
    const tokens = lex('# comment\n\n  # indented comment\na = [1,  # one\n     2]\n\n\nb = 3\n');
    expect(tokens.filter((t) => t.kind === 'newline')).toHaveLength(2);
    expect(tokens.find((t) => t.text === 'b')).toMatchObject({ line: 8, col: 1 });
  });

  it('joins lines after a backslash and accepts CRLF, CR and a BOM', () => {
    expect(lex('\uFEFFa = \\\r\n  1\rb = 2\r\n').map((t) => t.kind)).toEqual([
      'name',
      'op',
      'number',
      'newline',
      'name',
      'op',
      'number',
      'newline',
      'eof',
    ]);
  });

  it.each([
    ["'single'", 'single'],
    ['"double"', 'double'],
    ["'''triple\nline'''", 'triple\nline'],
    ['"""a "quoted" word"""', 'a "quoted" word'],
    ["u'unicode'", 'unicode'],
    ["'it\\'s'", "it's"],
    ["'tab\\there\\nnl'", 'tab\there\nnl'],
    ["'\\x41\\u00e9\\U0001F600\\101\\0'", 'Aé😀A\0'],
    ["'keep \\d unknown'", 'keep \\d unknown'],
    ["r'raw\\n\\d'", 'raw\\n\\d'],
    ["R'raw \\' quote'", "raw \\' quote"],
    ["'joined \\\nline'", 'joined line'],
    ["'ünïcödé'", 'ünïcödé'],
  ])('decodes the string %s', (source, value) => {
    expect(values(`x = ${source}`)).toEqual([value]);
  });

  it.each([
    ['0', 0],
    ['7777', 7777],
    ['1_000_000', 1_000_000],
    ['0x1F', 31],
    ['0o17', 15],
    ['0b101', 5],
    ['3.0', 3],
    ['.5', 0.5],
    ['1.', 1],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['00', 0],
  ])('reads the number %s', (source, value) => {
    expect(values(`x = ${source}`)).toEqual([value]);
  });

  it.each([
    ["x = 'open", /settings\.py:1:5: unterminated string/],
    ["x = 'line\nbreak'", /settings\.py:1:5: unterminated string \(only triple-quoted/],
    ["x = '''never\nclosed", /settings\.py:1:5: unterminated triple-quoted string/],
    ["x = 'ends with backslash\\", /unterminated string/],
    ["x = f'{a}'", /settings\.py:1:5: f-strings are not supported/],
    ["x = rb'bytes'", /bytes literals/],
    ["x = '\\N{DASH}'", /named Unicode escapes/],
    ["x = '\\x4'", /invalid \\x escape/],
    ["x = '\\U00110000'", /invalid \\U escape/],
    ['x = 0777', /leading zeros are not allowed/],
    ['x = 12abc', /invalid number literal/],
    ['x = 1j', /invalid number literal/],
    ['x = 1.2.3', /invalid number literal/],
    ['x = 99999999999999999999', /integer literal too large/],
    ['x = 1e999', /out of range/],
    ['x = [1, 2', /settings\.py:1:5: '\[' is never closed/],
    ['x = (1]', /settings\.py:1:7: '\]' does not match '\(' opened at line 1, column 5/],
    ['x = 1)', /unmatched '\)'/],
    ['x = $HOME', /unexpected character '\$'/],
    ['x = 1 \\ 2', /a line continuation must end the line/],
    ['x = \u00a0 1', /unexpected character U\+00A0/],
    ['x = 1\0', /unexpected character U\+0000/],
    ["x = 'a\0'", /NUL byte in string/],
    ['x = 1 # \0', /NUL byte in comment/],
  ])('rejects %j', (source, message) => {
    expect(lexError(source)).toMatch(message);
  });

  it('bounds bracket nesting', () => {
    expect(lexError(`x = ${'['.repeat(33)}${']'.repeat(33)}`)).toMatch(/nested deeper than 32 levels/);
    expect(() => lex(`x = ${'['.repeat(32)}${']'.repeat(32)}`)).not.toThrow();
    expect(() => tokenizePython(`x = ${'('.repeat(5)}${')'.repeat(5)}`, { file: 's', maxDepth: 4 })).toThrow(
      /deeper than 4/,
    );
  });

  it('marks a statement that does not start in the first column', () => {
    expect(lex('x = 1\n    y = 2\n').map((t) => t.kind)).toEqual([
      'name',
      'op',
      'number',
      'newline',
      'indent',
      'name',
      'op',
      'number',
      'newline',
      'eof',
    ]);
    expect(lex('  # comment\n\t\nx = [\n  1]').map((t) => t.kind)).not.toContain('indent');
  });

  it('counts lines inside triple-quoted strings for later positions', () => {
    const tokens = lex('a = """one\ntwo\nthree"""\nb = 1');
    expect(tokens.find((t) => t.text === 'b')).toMatchObject({ line: 4, col: 1 });
  });
});
