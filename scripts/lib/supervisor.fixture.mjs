// A stand-in for `node scripts/coffer.mjs start` in supervisor.test.mjs: the same runSupervised,
// with small children shaped like the real ones. `steady` stops on SIGTERM (a worker role);
// `tree` runs a grandchild in its group (npm → next-server); with FIXTURE_STUBBORN=1 both of the
// tree ignore SIGTERM, so only SIGKILL after the grace stops them. With FIXTURE_MODE=step, it
// is still setting up: a long step (the console's build: `tree`) runs guarded, as commandStart
// runs it, with npm watched the same way.
import { findNpmLauncher, runGuarded, runSupervised, watchLauncher } from './supervisor.mjs';

const stubborn = process.env.FIXTURE_STUBBORN === '1';
const onTerm = stubborn ? '() => {}' : '() => process.exit(0)';
const grandchild = `process.on('SIGTERM', ${onTerm}); setInterval(() => {}, 1000);`;
const tree = `
  const { spawn } = require('node:child_process');
  process.on('SIGTERM', ${onTerm});
  const grandchild = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' });
  grandchild.on('spawn', () => console.log('ready tree ' + process.pid + ' ' + grandchild.pid));
  setInterval(() => {}, 1000);
`;
const steady = `
  process.on('SIGTERM', () => process.exit(0));
  console.log('ready steady ' + process.pid);
  setInterval(() => {}, 1000);
`;

console.log(`supervisor ${process.pid}`);
if (process.env.FIXTURE_MODE === 'step') {
  watchLauncher(findNpmLauncher(), () => process.exit(1));
  await runGuarded(process.execPath, ['-e', tree]);
} else
  runSupervised({
    children: [
      { name: 'steady', command: process.execPath, args: ['-e', steady] },
      { name: 'tree', command: process.execPath, args: ['-e', tree] },
    ],
    backoff: { initialMs: 200, maxMs: 1_000, stableMs: 60_000 },
    log: {
      info: console.log,
      ok: console.log,
      warn: console.log,
      error: console.log,
      step: console.log,
    },
  });
