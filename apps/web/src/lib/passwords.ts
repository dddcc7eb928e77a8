const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A strong random password (Web Crypto, in the browser or on the server): 20 characters from
 * a 57-letter alphabet (~117 bits), always with letters and digits, no look-alikes.
 */
export function generatePassword(length = 20): string {
  for (;;) {
    const bytes = new Uint8Array(length * 2);
    crypto.getRandomValues(bytes);
    let password = '';
    for (const byte of bytes) {
      // Rejection sampling keeps every letter equally likely.
      if (byte < 256 - (256 % ALPHABET.length)) password += ALPHABET[byte % ALPHABET.length];
      if (password.length === length) break;
    }
    if (password.length === length && /[0-9]/.test(password) && /[A-Za-z]/.test(password))
      return password;
  }
}

/** A short random suffix for default names. */
export function randomSuffix(length = 4): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => 'abcdefghijkmnpqrstuvwxyz23456789'[b % 32]).join('');
}
