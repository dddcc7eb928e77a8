/**
 * Masks what sets a password in a log line (issue 16: passwords never appear in a log Coffer
 * shows): `IDENTIFIED BY '…'`, `IDENTIFIED VIA … USING '…'` and every literal after
 * IDENTIFIED in a CREATE/ALTER USER or GRANT, `PASSWORD('…')`, `SET PASSWORD … = …`, and
 * `MASTER_PASSWORD = '…'`. A literal that does not end on the line (a statement cut by the
 * log) is masked to the end of the line.
 */

const MASK = "'***'";
/** A quoted literal, possibly unterminated: '…' or "…", with '' / "" and backslash escapes. */
const LITERAL = String.raw`'(?:[^'\\]|\\.|'')*(?:'|$)|"(?:[^"\\]|\\.|"")*(?:"|$)`;

const SET_PASSWORD = /(\bSET\s+PASSWORD\b[^=]*=\s*)(.*)$/i;
const PASSWORD_CALL = new RegExp(
  String.raw`(\b(?:OLD_)?PASSWORD\s*\(\s*)(?:${LITERAL})(\s*\)?)`,
  'gi',
);
const MASTER_PASSWORD = new RegExp(String.raw`(\bMASTER_PASSWORD\s*=\s*)(?:${LITERAL})`, 'gi');
const IDENTIFIED = /\bIDENTIFIED\b/i;
const ANY_LITERAL = new RegExp(LITERAL, 'g');

export function maskPasswords(line: string): string {
  let masked = line;
  const identified = IDENTIFIED.exec(masked);
  if (identified) {
    const at = identified.index;
    masked = masked.slice(0, at) + masked.slice(at).replace(ANY_LITERAL, MASK);
  }
  masked = masked.replace(SET_PASSWORD, (_all, head: string) => `${head}${MASK}`);
  masked = masked.replace(PASSWORD_CALL, (_all, head: string, tail: string) =>
    tail.includes(')') ? `${head}${MASK}${tail}` : `${head}${MASK}`,
  );
  masked = masked.replace(MASTER_PASSWORD, (_all, head: string) => `${head}${MASK}`);
  return masked;
}

/** Every line of `text` masked. */
export function maskLogText(text: string): string {
  return text.split('\n').map(maskPasswords).join('\n');
}
