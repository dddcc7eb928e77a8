import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { now } from './report';

/**
 * The bare floor of "a new, running, empty server" on this machine, done by hand the way an
 * operator would: `mariadb-install-db`, then `mariadbd`, then `mariadb-admin ping` until it
 * answers. Same binaries, same kind of settings (small buffer pool, binary log) as Coffer's.
 */
export interface BareServer {
  dir: string;
  socket: string;
  pid: number;
}

function serverUser(dir: string): string {
  // mariadbd refuses to run as root without --user; use mysql when it can reach the directory.
  const probe = spawnSync('runuser', ['-u', 'mysql', '--', 'test', '-x', dir]);
  return probe.status === 0 ? 'mysql' : 'root';
}

export async function provisionBare(
  dir: string,
  port: number,
): Promise<{ ms: number; server: BareServer }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const user = serverUser(dir);
  // The server writes its socket, pid file and error log here.
  if (user === 'mysql') spawnSync('chown', ['mysql:mysql', dir]);
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const started = now();
  const install = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--user=${user}`,
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--user=${user}`,
      `--datadir=${datadir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--innodb-buffer-pool-size=256M',
      '--log-bin=mysql-bin',
      '--server-id=1',
      '--performance-schema=OFF',
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  for (;;) {
    if (existsSync(socket)) {
      const ping = spawnSync(
        'mariadb-admin',
        ['--no-defaults', `--socket=${socket}`, '--connect-timeout=2', 'ping'],
        { stdio: 'ignore' },
      );
      if (ping.status === 0) break;
    }
    if (child.exitCode !== null)
      throw new Error(`mariadbd exited with ${child.exitCode}; see ${join(dir, 'error.log')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { ms: now() - started, server: { dir, socket, pid: child.pid! } };
}

export async function destroyBare(server: BareServer): Promise<void> {
  spawnSync('mariadb-admin', ['--no-defaults', `--socket=${server.socket}`, 'shutdown'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(server.pid, 0);
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    process.kill(server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(server.dir, { recursive: true, force: true });
}
