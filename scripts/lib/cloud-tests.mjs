// The cloud step of `npm test`: the loopback OpenStack (scripts/openstack) is installed and
// started in the background while the static checks and the main vitest run, then the suites
// that need it (vitest.cloud.config.ts) run beside the main ones. Their output goes to a log
// file, printed whole when the step ends, so the two runs' lines do not interleave.
import fs from 'node:fs';
import path from 'node:path';

import { log, runAsync } from './system.mjs';

function runLogged(root, script, logFile, env) {
  const fd = fs.openSync(logFile, 'a');
  // The cloud's services run at a lower priority than the main suites (whose servers and guests
  // have deadlines); they only have to answer the cloud suites' requests in time.
  return runAsync('nice', ['-n', '10', 'bash', path.join(root, 'scripts', 'openstack', script)], {
    cwd: root,
    env,
    stdio: ['ignore', fd, fd],
  }).finally(() => fs.closeSync(fd));
}

/**
 * Starts the cloud step; resolves (after everything it ran has ended) with its results:
 * `{ steps: [{ name, ok, seconds }], report, logFile }`. The OpenStack is stopped again when
 * this run started it; one that was running before is left running.
 */
export async function runCloudTests({ root, env, reportsDir }) {
  const logFile = path.join(reportsDir, 'cloud-tests.log');
  const report = path.join(reportsDir, 'vitest-cloud.json');
  fs.writeFileSync(logFile, '');
  const steps = [];
  const timed = async (name, run) => {
    const started = Date.now();
    const ok = await run();
    steps.push({ name, ok, seconds: ((Date.now() - started) / 1000).toFixed(1) });
    return ok;
  };

  const runningBefore = (await runLogged(root, 'status.sh', logFile, env).catch(() => 1)) === 0;
  let ok = runningBefore;
  if (!runningBefore) {
    ok =
      (await timed('loopback OpenStack: install', async () => {
        return (await runLogged(root, 'install.sh', logFile, env)) === 0;
      })) &&
      (await timed('loopback OpenStack: start', async () => {
        return (await runLogged(root, 'up.sh', logFile, env)) === 0;
      }));
  }
  if (ok) {
    log.info('loopback OpenStack up: the cloud suites (vitest.cloud.config.ts) start');
    await timed('OpenStack and guest VM tests (vitest, cloud suites)', async () => {
      const fd = fs.openSync(logFile, 'a');
      try {
        const code = await runAsync(
          'nice',
          [
            '-n',
            '5',
            'npx',
            'vitest',
            'run',
            '--config',
            'vitest.cloud.config.ts',
            '--reporter=default',
            '--reporter=json',
            `--outputFile.json=${report}`,
          ],
          {
            cwd: root,
            // The cloud suites fail, not skip, when they find no cloud.
            env: { ...env, COFFER_TEST_CLOUD: 'required', FORCE_COLOR: '0' },
            stdio: ['ignore', fd, fd],
          },
        );
        return code === 0;
      } finally {
        fs.closeSync(fd);
      }
    });
  }
  if (!runningBefore) await runLogged(root, 'down.sh', logFile, env);
  return { steps, report, logFile };
}
