import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createPrismaClient } from '@coffer/db';
import { removeInstanceCgroups, unmountUnder } from '@coffer/testing/mounts';
import { killProcessesMentioning } from '@coffer/testing/processes';
import { registerRunSecrets } from '@coffer/worker/test/secrets';

/**
 * Starts the workers (taskmanager, conductor, watchdog) beside the console for the run, and
 * stops them afterwards, with every instance process the run left behind. Playwright's
 * webServer needs a URL to wait for; the worker has none, so it waits for the worker's own
 * "worker started" log line instead.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What the run's servers leave: processes, then their loop-mounted volumes and cgroups, then files. */
function cleanUp(dataDir: string) {
  killProcessesMentioning(dataDir);
  unmountUnder(dataDir);
  removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
}

/** For the scan of the run's logs (COFFER_TEST_LOG_DIR): the keys, guest secrets and injected files of the run. */
async function listRunSecrets(dataDir: string): Promise<void> {
  const { DATABASE_URL: url, COFFER_MASTER_KEY: masterKey } = process.env;
  if (!url || !masterKey) return;
  const prisma = createPrismaClient({ url });
  try {
    await registerRunSecrets(prisma, masterKey, dataDir);
  } finally {
    await prisma.$disconnect();
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const dataDir =
    process.env.COFFER_E2E_INSTANCES_DIR ?? join(root, '.coffer-test', 'e2e-instances');
  cleanUp(dataDir);
  const worker: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'apps/worker/src/main.ts')],
    {
      cwd: root,
      // As `npm start` runs the workers: in production mode.
      env: {
        ...process.env,
        NODE_ENV: 'production',
        COFFER_DATA_DIR: dataDir,
        COFFER_INSTANCE_PORT_RANGE: process.env.COFFER_INSTANCE_PORT_RANGE ?? '26100-26199',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolveStarted, rejectStarted) => {
    const timer = setTimeout(
      () => rejectStarted(new Error('the worker did not start within 60 s')),
      60_000,
    );
    let buffer = '';
    worker.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('"worker started"')) {
        clearTimeout(timer);
        resolveStarted();
      }
      if (buffer.length > 100_000) buffer = buffer.slice(-10_000);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      rejectStarted(new Error(`the worker exited with ${code} before it started`));
    });
  });
  // Keep draining its logs so the pipe never fills.
  worker.stdout!.resume();

  return async () => {
    if (worker.exitCode === null) {
      const exited = new Promise((done) => worker.once('exit', done));
      worker.kill('SIGTERM');
      const timeout = new Promise((done) => setTimeout(done, 15_000).unref());
      await Promise.race([exited, timeout]);
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    await listRunSecrets(dataDir);
    cleanUp(dataDir);
  };
}
