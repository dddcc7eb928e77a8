import { defineConfig, devices } from '@playwright/test';

import { smtpPort } from './mail';

/**
 * End-to-end tests: the built console (and the workers) against a migrated, seeded database,
 * driven in Debian's Chromium. `npm test` prepares the database and the build, then runs this.
 */
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://localhost:${port}`;

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  // Generous: an expectation that holds returns at once; one that waits for the console on a
  // loaded machine (CI shares it) should not fail for want of a few seconds.
  expect: { timeout: 20_000 },
  reporter: process.env.CI ? 'list' : [['list']],
  outputDir: './test-results',
  use: {
    baseURL,
    // A failed test keeps its trace (actions, DOM snapshots, network) and a screenshot; the
    // trace's screencast is off: recording it cost a third of the step's CPU (docs/development.md).
    trace: { mode: 'retain-on-failure', screenshots: false },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    },
    permissions: ['clipboard-read', 'clipboard-write'],
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'] } }],
  webServer: [
    // The run's SMTP server on loopback (mail-sink.ts): the console's invitations and password resets.
    {
      command: 'node --import tsx e2e/mail-sink.ts',
      cwd: '..',
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `npm run start -w @coffer/web -- -p ${port} -H 127.0.0.1`,
      cwd: '..',
      url: `${baseURL}/sign-in`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'pipe',
      stderr: 'pipe',
      // Every test signs up or in from 127.0.0.1: generous limits unless the run sets its own
      // (the limits themselves are tested in apps/web/src/server/rate-limit.test.ts).
      // As `npm start` runs it: in production mode (better-auth checks Origin only then).
      env: {
        NODE_ENV: 'production',
        COFFER_SIGN_IN_RATE_LIMIT_MAX: process.env.COFFER_SIGN_IN_RATE_LIMIT_MAX ?? '1000',
        // responsive.spec.ts loads some 35 pages a minute as one user (each page's calls count).
        COFFER_API_RATE_LIMIT_MAX: process.env.COFFER_API_RATE_LIMIT_MAX ?? '6000',
        COFFER_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        COFFER_SMTP_FROM: 'Coffer e2e <coffer@e2e.local>',
      },
    },
  ],
});
