import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The e2e run's mail (mail-sink.ts): where its SMTP server listens (E2E_SMTP_PORT, else the
 * console's port + 2000) and where it leaves each message (E2E_MAIL_DIR, else a directory of
 * the temp dir named after that port), and how a test reads them.
 */
const consolePort = Number(process.env.E2E_PORT ?? 3100);
export const smtpPort = Number(process.env.E2E_SMTP_PORT ?? consolePort + 2000);
export const mailDir = process.env.E2E_MAIL_DIR ?? join(tmpdir(), `coffer-e2e-mail-${smtpPort}`);

export interface SunkMail {
  to: string[];
  subject: string;
  text: string;
}

/** Every message received so far, oldest first. */
export function readMail(): SunkMail[] {
  if (!existsSync(mailDir)) return [];
  return readdirSync(mailDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(mailDir, name), 'utf8')) as SunkMail);
}

/** The newest message to `to`, if any. */
export function latestMailTo(to: string): SunkMail | undefined {
  return readMail()
    .filter((mail) => mail.to.some((address) => address.toLowerCase() === to.toLowerCase()))
    .at(-1);
}
