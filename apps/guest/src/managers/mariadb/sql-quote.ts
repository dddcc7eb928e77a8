/**
 * Quoting for what SQL cannot take as a parameter (identifiers in DDL and GRANT). Values
 * (user names, hosts, passwords) are always passed as parameters instead. Names have been
 * checked with the contract schemas before they get here; quoting is the second guard.
 */

const MAX_IDENTIFIER_LENGTH = 64;

export class IdentifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentifierError';
  }
}

function checkIdentifier(name: string): void {
  if (name.length === 0) throw new IdentifierError('an identifier cannot be empty');
  if (name.length > MAX_IDENTIFIER_LENGTH)
    throw new IdentifierError(`identifier longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  if (name.includes('\0')) throw new IdentifierError('an identifier cannot contain NUL');
  if (/\s$/.test(name)) throw new IdentifierError('an identifier cannot end with a space');
}

function backtick(text: string): string {
  return `\`${text.replace(/`/g, '``')}\``;
}

/** `name` as a quoted identifier: backticks, with backticks inside doubled. */
export function quoteIdentifier(name: string): string {
  checkIdentifier(name);
  return backtick(name);
}

/**
 * A database name for `GRANT ... ON <db>.*`, where `_` and `%` are wildcards: escaped, so
 * a grant on `app_db` never covers `appXdb`.
 */
export function quoteGrantDatabase(name: string): string {
  checkIdentifier(name);
  return backtick(name.replace(/[\\_%]/g, (char) => `\\${char}`));
}
