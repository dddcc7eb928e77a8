import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

import { now } from './report';

/**
 * The bare floor of "a new, running, empty server" on this machine, done by hand the way an
 * operator would: `mariadb-install-db` (or a copy of a datadir it made earlier), then
 * `mariadbd`, then `mariadb-admin ping` until it answers. Same binaries, same kind of settings (small buffer pool, binary log) as Coffer's.
 */
export interface BareServer {
  dir: string;
  socket: string;
  pid: number;
}

/** Runs a tool to its end; a failure throws with the end of its stderr. */
export function runTool(command: string, args: string[], options: { shell?: boolean } = {}): void {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    shell: options.shell,
  });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr?.slice(-2000)}`);
}

/** The user mariadbd runs as over `dir`. */
export function serverUser(dir: string): string {
  // mariadbd refuses to run as root without --user; use mysql when it can reach the directory.
  const probe = spawnSync('runuser', ['-u', 'mysql', '--', 'test', '-x', dir]);
  return probe.status === 0 ? 'mysql' : 'root';
}

/** Runs a tool to its end without blocking the event loop (many at once); a failure rejects with the end of its stderr. */
export function runToolAsync(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, rejectRun) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error
        ? rejectRun(new Error(`${command} ${args.join(' ')} failed: ${stderr.slice(-2000)}`))
        : resolveRun(),
    );
  });
}

export async function provisionBare(
  dir: string,
  port: number,
): Promise<{ ms: number; server: BareServer }> {
  const { user, datadir } = freshDir(dir);
  const started = now();
  await installDatadir(datadir, user, port);
  const server = await startBareServer(dir, datadir, port, user);
  return { ms: now() - started, server };
}

/**
 * An operator's own template, made once ahead of time as Coffer's guests keep one per server
 * build: `mariadb-install-db` into `dir`/data, then started once (no network, no binary log)
 * with the smallest redo log and shut down cleanly, so a copy is ~21 MB and each copy's first
 * start grows the log (the guest's datadir-template.ts does the same). Returns its path.
 */
export async function makeBareTemplate(dir: string): Promise<string> {
  const { user, datadir } = freshDir(dir);
  await installDatadir(datadir, user, 0);
  const server = await startMariadbd({
    dir,
    datadir,
    port: 0,
    user,
    bufferPoolMb: 256,
    args: ['--skip-networking', '--skip-log-bin', `--innodb-log-file-size=4M`],
  });
  await stopBare(server);
  rmSync(join(datadir, 'ib_buffer_pool'), { force: true });
  return datadir;
}

/** The same server as provisionBare's, from a copy of a template (`cp -a`, as Coffer copies its own). */
export async function provisionBareFromTemplate(
  dir: string,
  port: number,
  template: string,
): Promise<{ ms: number; server: BareServer }> {
  const { user, datadir } = freshDir(dir);
  const started = now();
  await runToolAsync('cp', ['-a', '--reflink=auto', '--', template, datadir]);
  const server = await startBareServer(dir, datadir, port, user);
  return { ms: now() - started, server };
}

/** An empty `dir` the server can write its socket, pid file and error log to. */
function freshDir(dir: string): { user: string; datadir: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const user = serverUser(dir);
  if (user === 'mysql') spawnSync('chown', ['mysql:mysql', dir]);
  return { user, datadir: join(dir, 'data') };
}

/**
 * `mariadb-install-db` on one CPU (chosen by `seed`, so installs at once spread over the CPUs),
 * as Coffer's guest runs it (install-cpu.ts: unpinned, its bootstrap stalls on a busy machine).
 */
async function installDatadir(datadir: string, user: string, seed: number): Promise<void> {
  const cpu = String(seed % availableParallelism());
  // Its own temporary dir: a bootstrap's temporary tables in the shared /tmp went missing when
  // 50 ran at once on this shared machine ("Unknown table 'mysql.tmp_user_sys'").
  const tmpDir = join(dirname(datadir), 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  if (user === 'mysql') spawnSync('chown', ['mysql:mysql', tmpDir]);
  await runToolAsync('taskset', [
    '-c',
    cpu,
    'mariadb-install-db',
    '--no-defaults',
    `--user=${user}`,
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    `--tmpdir=${tmpDir}`,
  ]).catch((error: unknown) => {
    throw new Error(`mariadb-install-db failed: ${(error as Error).message}`);
  });
}

function startBareServer(
  dir: string,
  datadir: string,
  port: number,
  user: string,
): Promise<BareServer> {
  return startMariadbd({
    dir,
    datadir,
    port,
    user,
    bufferPoolMb: 256,
    args: ['--log-bin=mysql-bin', '--server-id=1', '--performance-schema=OFF'],
  });
}

/**
 * Starts `mariadbd` on `datadir` as `user`, its socket, pid file and error log in `dir`,
 * listening on `port` of 127.0.0.1 (`args`: more options), and waits until it answers a ping.
 */
export async function startMariadbd(options: {
  dir: string;
  datadir: string;
  port: number;
  user: string;
  bufferPoolMb: number;
  args?: string[];
}): Promise<BareServer> {
  const { dir } = options;
  const socket = join(dir, 'mysqld.sock');
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--user=${options.user}`,
      `--datadir=${options.datadir}`,
      `--port=${options.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      `--innodb-buffer-pool-size=${options.bufferPoolMb}M`,
      ...(options.args ?? []),
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  for (;;) {
    // Not spawnSync: many servers starting at once each ping without waiting on the others'.
    if (
      existsSync(socket) &&
      (await runToolAsync('mariadb-admin', [
        '--no-defaults',
        `--socket=${socket}`,
        '--connect-timeout=2',
        'ping',
      ]).then(
        () => true,
        () => false,
      ))
    )
      break;
    if (child.exitCode !== null)
      throw new Error(`mariadbd exited with ${child.exitCode}; see ${join(dir, 'error.log')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { dir, socket, pid: child.pid! };
}

export async function destroyBare(server: BareServer): Promise<void> {
  await stopBare(server);
  rmSync(server.dir, { recursive: true, force: true });
}

/** Shuts the server down cleanly (killed if it does not go within 10 s); its files stay. */
async function stopBare(server: BareServer): Promise<void> {
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
}
