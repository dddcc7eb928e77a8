// Running the build's tools: each step timed and announced, a failing tool named with its
// exit status and the end of its output.
import { spawn } from 'node:child_process';

const started = Date.now();

/** `[image  12.3s] message` on stderr: the build's progress, one line a step. */
export function progress(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[image ${seconds}s] ${message}\n`);
}

export class BuildError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'BuildError';
  }
}

/**
 * Runs `command args`; resolves with its stdout. Its stderr (and stdout unless captured) is
 * kept and, when it fails, the last lines are in the error; `echo` streams it as it comes
 * (for long steps such as mmdebstrap).
 */
export function run(command, args, { capture = false, echo = false, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let tail = '';
    const keep = (chunk) => {
      tail = (tail + chunk).slice(-4000);
      if (echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', (chunk) => (capture ? (out += chunk) : keep(chunk)));
    child.stderr.on('data', keep);
    child.once('error', (error) =>
      reject(
        new BuildError(
          error.code === 'ENOENT'
            ? `${command} is not installed (see packages/guest-image/README.md, "What it needs")`
            : `${command}: ${error.message}`,
        ),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(out);
      const lines = tail.trimEnd().split('\n').slice(-25).join('\n');
      reject(
        new BuildError(
          `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})${lines ? `:\n${lines}` : ''}`,
        ),
      );
    });
  });
}
