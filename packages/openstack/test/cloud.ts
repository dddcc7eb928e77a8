// The loopback OpenStack the integration tests talk to (`node scripts/coffer.mjs openstack
// start`): its admin credentials (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME
// override them), a session, and a check that it answers at all.
import { randomUUID } from 'node:crypto';
import { KeystoneAuth } from '../src/keystone';
import type { OpenStackLogger } from '../src/logger';
import { OpenStackSession } from '../src/session';

export const authUrl = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
export const admin = {
  type: 'password' as const,
  username: process.env.OS_USERNAME ?? 'admin',
  password: process.env.OS_PASSWORD ?? 'admin',
  projectName: process.env.OS_PROJECT_NAME ?? 'admin',
};

export function adminSession(logger?: OpenStackLogger): OpenStackSession {
  return new OpenStackSession({ auth: new KeystoneAuth({ authUrl, credentials: admin }), logger });
}

/** Fails the file at once, saying how to start it, when no Keystone answers. */
export async function requireCloud(): Promise<void> {
  const answer = await fetch(`${authUrl}/`).catch((error: unknown) => error as Error);
  if (answer instanceof Error)
    throw new Error(
      `no Keystone at ${authUrl} (${answer.message}): start the loopback OpenStack first, \`node scripts/coffer.mjs openstack start\``,
    );
}

/** A name no other test run uses: `coffer-test-<what>-<8 hex>`. */
export function uniqueName(what: string): string {
  return `coffer-test-${what}-${randomUUID().slice(0, 8)}`;
}

/** A logger that keeps every line, for tests that look at what was logged. */
export function recorder() {
  const lines: { msg?: string; obj: Record<string, unknown> }[] = [];
  const at = (obj: object, msg?: string) =>
    lines.push({ msg, obj: obj as Record<string, unknown> });
  const logger: OpenStackLogger = { debug: at, info: at, warn: at, error: at };
  return { lines, logger };
}

/** Runs every cleanup step even when one fails; throws the first failure after all ran. */
export async function cleanUp(steps: (() => Promise<unknown>)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= error;
    }
  }
  if (first) throw first;
}
