import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { type StartWorkerOptions } from '../src/worker';
import { assertTestNames } from './harness';

const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The worker in a child process (test/worker-process.ts), its log kept for failure messages. */
export class ChildWorker {
  readonly process: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `processEnv`: the process's own environment besides the test's (settings read from process.env, e.g. COFFER_LOCAL_GUEST_POOL). */
  constructor({
    processEnv,
    ...options
  }: Pick<StartWorkerOptions, 'env' | 'names' | 'tuning' | 'roles'> & {
    processEnv?: Record<string, string>;
  }) {
    assertTestNames(options.names ?? {});
    this.process = spawn(process.execPath, ['--import', TSX, SCRIPT], {
      env: { ...process.env, ...processEnv, COFFER_TEST_WORKER_OPTIONS: JSON.stringify(options) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** True until the process exits. */
  get isRunning(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /**
   * Resolves once the worker logged that it started (throws if it exits first). The deadline
   * covers a cold `node --import tsx` start of the whole worker: 30 s was passed at load 20 with
   * another test file beside it (crash-recovery.test.ts, three times in one run).
   */
  async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.join('').includes('"worker started"')) {
      if (this.process.exitCode !== null || this.process.signalCode !== null)
        throw new Error(`the worker exited:\n${this.log()}`);
      if (Date.now() > deadline)
        throw new Error(`the worker did not start in time:\n${this.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  log(): string {
    return this.output.join('').slice(-5000);
  }

  kill(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }
}

/** Kills (SIGKILL) each of `children` still running and waits for it to exit; empties the list. */
export async function killChildWorkers(children: ChildWorker[]): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.isRunning) {
      child.kill('SIGKILL');
      await child.exited;
    }
  }
}
