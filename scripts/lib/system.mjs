// Small process and file helpers for the orchestration script. Node built-ins only: this
// runs before `npm ci` on a machine that has nothing but Node and npm.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const colors = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);

export const log = {
  step: (text) => console.log(`${paint('36', '▸')} ${text}`),
  info: (text) => console.log(`  ${text}`),
  ok: (text) => console.log(`${paint('32', '✓')} ${text}`),
  warn: (text) => console.warn(`${paint('33', '!')} ${text}`),
  error: (text) => console.error(`${paint('31', '✗')} ${text}`),
};

export class SetupError extends Error {}

/** Runs a command to completion, inheriting stdio; throws SetupError on failure. */
export function run(command, args, options = {}) {
  const { quiet = false, env, cwd, allowFailure = false, input } = options;
  const result = spawnSync(command, args, {
    cwd,
    env: env ? { ...process.env, ...env } : process.env,
    stdio:
      input !== undefined
        ? ['pipe', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit']
        : quiet
          ? 'pipe'
          : 'inherit',
    input,
    encoding: 'utf8',
  });
  if (result.error) {
    if (allowFailure) return result;
    throw new SetupError(`could not run ${command}: ${result.error.message}`);
  }
  if (result.status !== 0 && !allowFailure) {
    const output = quiet ? `\n${(result.stderr || result.stdout || '').trim()}` : '';
    throw new SetupError(`${command} ${args.join(' ')} exited with ${result.status}${output}`);
  }
  return result;
}

/** Runs a command and returns its trimmed stdout, or null when it fails. */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim();
}

/** Runs a command asynchronously with inherited stdio; resolves with its exit code. */
export function runAsync(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.on('error', (error) => {
      log.error(`could not run ${command}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export function hashFiles(files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file);
    hash.update(fs.existsSync(file) ? fs.readFileSync(file) : 'missing');
  }
  return hash.digest('hex');
}

export function ensureDir(dir, mode = 0o755) {
  fs.mkdirSync(dir, { recursive: true, mode });
  return dir;
}

/** Resolves when something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(
  port,
  { host = '127.0.0.1', timeoutMs = 30_000, what = `port ${port}` } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    if (await isPortOpen(port, host)) return;
    if (Date.now() > deadline)
      throw new SetupError(`${what} did not come up within ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
}

export function isPortOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** True when `user` can reach (search) every directory down to `dir`. */
export function canUserTraverse(user, dir) {
  if (!isRoot) return true;
  const result = spawnSync('runuser', ['-u', user, '--', 'test', '-x', dir], { stdio: 'ignore' });
  return result.status === 0;
}

export function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return fallback;
  }
}

export function writeFileAtomic(file, content, mode = 0o600) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}
