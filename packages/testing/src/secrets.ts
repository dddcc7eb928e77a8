import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { testLogDir } from './env';

/**
 * The ledger of secrets a test run used or learned (passwords it generated, API tokens it was
 * shown, guest secrets read back from injected files, keys), kept beside the captured logs in
 * COFFER_TEST_LOG_DIR, for the scan (scan-secrets.ts) to look for. Without COFFER_TEST_LOG_DIR
 * every function here does nothing.
 */

export const LEDGER_FILE = 'secrets.ledger.jsonl';

/** One ledger line: a secret as text, or as bytes (base64), with what it is. */
export interface LedgerEntry {
  label: string;
  value?: string;
  base64?: string;
}

/** Whether this run lists its secrets (COFFER_TEST_LOG_DIR is set). */
export function isListingSecrets(): boolean {
  return testLogDir() !== null;
}

/** Lists one secret: text, or bytes (a derived key). Empty values are ignored. */
export function registerSecret(label: string, secret: string | Buffer | null | undefined): void {
  const dir = testLogDir();
  if (!dir || secret === null || secret === undefined || secret.length === 0) return;
  const entry: LedgerEntry =
    typeof secret === 'string'
      ? { label, value: secret }
      : { label, base64: secret.toString('base64') };
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, LEDGER_FILE), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}

/** Keys whose string values are secrets: `password`, `rootPassword`, `token`, `guestSecret`… */
const SECRET_KEY = /(password|secret|token)$/i;

/** The password of a URL (`redis://:pw@host`), if the text is one. */
function passwordOfUrl(text: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return null;
  try {
    return decodeURIComponent(new URL(text).password) || null;
  } catch {
    return null;
  }
}

/**
 * Lists every string under a secret-named key of `value`, and the password of every URL in
 * it (objects and arrays, a few levels deep).
 */
export function registerSecretsIn(label: string, value: unknown, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Date || Buffer.isBuffer(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === 'string') {
      if (SECRET_KEY.test(key)) registerSecret(`${label}: ${key}`, child);
      else registerSecret(`${label}: the password in ${key}`, passwordOfUrl(child));
    } else registerSecretsIn(label, child, depth + 1);
  }
}

/**
 * `target` (a tRPC caller, say) with every call recorded: the secrets of its arguments and of
 * its answer are listed. Without COFFER_TEST_LOG_DIR it is `target` itself.
 */
export function recordingSecrets<T extends object>(target: T, label = 'call'): T {
  if (!testLogDir()) return target;
  const wrap = (inner: object, path: string): object =>
    new Proxy(inner, {
      get(object, property, receiver) {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof property === 'symbol' || property === 'then') return value;
        return typeof value === 'function' ? wrap(value, `${path}.${property}`) : value;
      },
      apply(fn, thisArgument, args: unknown[]) {
        registerSecretsIn(path, args);
        const result: unknown = Reflect.apply(
          fn as (...a: unknown[]) => unknown,
          thisArgument,
          args,
        );
        if (result instanceof Promise) {
          return result.then((answer: unknown) => {
            registerSecretsIn(path, answer);
            return answer;
          });
        }
        registerSecretsIn(path, result);
        return result;
      },
    });
  return wrap(target, label) as T;
}
