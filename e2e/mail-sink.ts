import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { startSmtpCapture } from '@coffer/testing/smtp';

import { mailDir, smtpPort } from './mail';

/**
 * The e2e run's mail server: a real SMTP server on loopback (@coffer/testing/smtp) that the
 * console sends its invitations and password resets to (COFFER_SMTP_URL, playwright.config.ts).
 * Each message it receives becomes a JSON file in the mail directory, which the tests read
 * (tests/mail.ts). Started and stopped by Playwright as one of its web servers.
 */
rmSync(mailDir, { recursive: true, force: true });
mkdirSync(mailDir, { recursive: true, mode: 0o700 });
let count = 0;
const capture = await startSmtpCapture({
  port: smtpPort,
  onMessage: (mail) => {
    count += 1;
    const file = join(mailDir, `${String(count).padStart(5, '0')}.json`);
    // Whole or not at all: written aside, then renamed.
    writeFileSync(
      `${file}.part`,
      JSON.stringify({ to: mail.to, subject: mail.subject, text: mail.text }),
      {
        mode: 0o600,
      },
    );
    renameSync(`${file}.part`, file);
  },
});
console.log(`mail sink: SMTP on 127.0.0.1:${capture.port}, messages in ${mailDir}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // The messages hold tokens: nothing is left behind.
    void capture.close().then(() => {
      rmSync(mailDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}
