import { describe, expect, it } from 'vitest';

import { IdentifierError, quoteGrantDatabase, quoteIdentifier } from './sql-quote';

describe('quoteIdentifier', () => {
  it('wraps names in backticks', () => {
    expect(quoteIdentifier('app')).toBe('`app`');
    expect(quoteIdentifier('my-db$1')).toBe('`my-db$1`');
  });

  it('doubles backticks so a name cannot close its quotes', () => {
    expect(quoteIdentifier('a`b')).toBe('`a``b`');
    expect(quoteIdentifier('x`; DROP DATABASE mysql; --')).toBe('`x``; DROP DATABASE mysql; --`');
  });

  it('leaves other quote characters alone (they are plain characters inside backticks)', () => {
    expect(quoteIdentifier(`it's "q"`)).toBe('`it\'s "q"`');
  });

  it('refuses empty, too long, NUL and trailing-space names', () => {
    expect(() => quoteIdentifier('')).toThrow(IdentifierError);
    expect(() => quoteIdentifier('a'.repeat(65))).toThrow(IdentifierError);
    expect(quoteIdentifier('a'.repeat(64))).toBe(`\`${'a'.repeat(64)}\``);
    expect(() => quoteIdentifier('a\0b')).toThrow(IdentifierError);
    expect(() => quoteIdentifier('a ')).toThrow(IdentifierError);
  });
});

describe('quoteGrantDatabase', () => {
  it('escapes the GRANT wildcards so a grant covers exactly one database', () => {
    expect(quoteGrantDatabase('app_db')).toBe('`app\\_db`');
    expect(quoteGrantDatabase('a%b')).toBe('`a\\%b`');
    expect(quoteGrantDatabase('plain')).toBe('`plain`');
  });

  it('checks the length of the name, not of its escaped form', () => {
    const name = '_'.repeat(64);
    expect(quoteGrantDatabase(name)).toBe(`\`${'\\_'.repeat(64)}\``);
    expect(() => quoteGrantDatabase('_'.repeat(65))).toThrow(IdentifierError);
  });
});
