// A stand-in for the guest agent in the provider's tests: runs until SIGTERM. With
// FAKE_GUEST_LEAVE_SERVER=1 it also leaves a detached "database server" behind that names
// the instance's files and ignores SIGTERM, as a stuck mariadbd would.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
// With FAKE_GUEST_HOLD_FILE naming a file that exists when it starts, it holds as many MB of
// memory as the file says (a database server using its flavor's memory).
const holdFile = process.env.FAKE_GUEST_HOLD_FILE;
const held =
  holdFile && existsSync(holdFile)
    ? Buffer.alloc(Number(readFileSync(holdFile, 'utf8')) * 1024 * 1024, 1)
    : null;
process.on('SIGTERM', () => process.exit(0));
setInterval(() => held?.[0], 1000);
