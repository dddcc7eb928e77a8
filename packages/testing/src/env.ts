import { isAbsolute, resolve } from 'node:path';

/**
 * The one setting of this package, read here only: COFFER_TEST_LOG_DIR. A test run sets it to
 * have every process log at debug level into that directory, and its tests list the secrets
 * they used there, so that a scan can prove no secret reached a log. Unset in production.
 */
export function testLogDir(source: NodeJS.ProcessEnv = process.env): string | null {
  const value = source.COFFER_TEST_LOG_DIR?.trim();
  if (!value) return null;
  return isAbsolute(value) ? value : resolve(value);
}

/** Names of settings whose values are secrets, wherever a process reads them. */
const SECRET_SETTINGS = ['COFFER_MASTER_KEY', 'BETTER_AUTH_SECRET', 'COFFER_SWIFT_KEY'];
/** Settings that are URLs with a password in them. */
const URL_SETTINGS = [
  'DATABASE_URL',
  'REDIS_URL',
  'COFFER_GUEST_REDIS_URL',
  'COFFER_TEST_PG_ADMIN_URL',
];

/** The secrets of this process's own settings (the scan adds them to what the tests listed). */
export function secretsOfEnvironment(
  source: NodeJS.ProcessEnv = process.env,
): Array<{ label: string; value: string }> {
  const found: Array<{ label: string; value: string }> = [];
  for (const name of SECRET_SETTINGS) {
    const value = source[name];
    if (value) found.push({ label: name, value });
  }
  for (const name of URL_SETTINGS) {
    try {
      const password = decodeURIComponent(new URL(source[name] ?? '').password);
      if (password) found.push({ label: `the password in ${name}`, value: password });
    } catch {
      // Unset or not a URL.
    }
  }
  return found;
}

/**
 * Sets COFFER_INSTANCE_PORT_RANGE of this (test) process: what a worker or provider the test
 * file starts without a range of its own reads (setup-ports.ts, the file's own block).
 */
export function setInstancePortRange(range: string, target: NodeJS.ProcessEnv = process.env): void {
  target.COFFER_INSTANCE_PORT_RANGE = range;
}
