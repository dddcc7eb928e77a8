// A stand-in for the guest agent in the provider's tests: runs until SIGTERM. With
// FAKE_GUEST_LEAVE_SERVER=1 it also leaves a detached "database server" behind that names
// the instance's files and ignores SIGTERM, as a stuck mariadbd would.
import { spawn } from 'node:child_process';
import process from 'node:process';
import { setInterval } from 'node:timers';

const configDir = process.argv[process.argv.indexOf('--config-dir') + 1];
if (process.env.FAKE_GUEST_LEAVE_SERVER === '1') {
  const server = spawn(
    process.execPath,
    [
      '-e',
      "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);",
      '--',
      `--defaults-file=${configDir}/../data/my.cnf`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  server.unref();
}
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
