// The supervisor with real processes: a crashed child comes back with backoff while the other
// keeps running; and whatever signal reaches `npm start` (npm → sh → supervisor → guards →
// children → grandchildren), or the supervisor itself, nothing is left running 10 s later.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { parentOf, waitUntil } from './processes.mjs';
import { createSupervisor, restartDelayMs } from './supervisor.mjs';

const FIXTURE = fileURLToPath(new URL('./supervisor.fixture.mjs', import.meta.url));
const ROOT_PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));
const quietLog = { info() {}, ok() {}, warn() {}, error() {}, step() {} };

/** Live processes whose environment holds `MARK=<mark>`: everything a test started, wherever it went. */
function markedProcesses(mark) {
  const needle = `COFFER_TEST_MARK=${mark}`;
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry) || parentOf(Number(entry)) === null) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(needle))
        found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const childrenOf = (pid) =>
  fs
    .readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .map(Number)
    .filter((candidate) => parentOf(candidate) === pid);

const isAlive = (pid) => parentOf(pid) !== null;

const marks = [];
afterEach(() => {
  // Whatever a failed test left: killed here, so the next test (and the machine) start clean.
  for (const mark of marks.splice(0)) {
    for (const pid of markedProcesses(mark)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

describe('backoff', () => {
  it('doubles from the first delay up to the cap', () => {
    const backoff = { initialMs: 1_000, maxMs: 30_000, stableMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelayMs(n, backoff))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });
});

describe('supervising children', () => {
  it('starts a crashed child again with growing delays while the other keeps running', async () => {
    const mark = randomUUID();
    marks.push(mark);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-supervisor-'));
    const starts = path.join(dir, 'starts');
    const events = [];
    const supervisor = createSupervisor({
      children: [
        {
          name: 'crasher',
          command: process.execPath,
          // Records the restart count it was given, then crashes.
          args: [
            '-e',
            `require('fs').appendFileSync(${JSON.stringify(starts)}, process.env.RESTARTS + '\\n'); process.exit(3)`,
          ],
          env: ({ restarts }) => ({ RESTARTS: String(restarts), COFFER_TEST_MARK: mark }),
        },
        {
          name: 'steady',
          command: process.execPath,
          args: ['-e', `process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)`],
          env: { COFFER_TEST_MARK: mark },
        },
      ],
      backoff: { initialMs: 150, maxMs: 600, stableMs: 60_000 },
      stopGraceMs: 3_000,
      log: quietLog,
      onEvent: (event) => events.push({ ...event, at: Date.now() }),
    });
    try {
      supervisor.start();
      const steadyGuard = supervisor.status().find((child) => child.name === 'steady').pid;
      const crasherStarts = () =>
        events.filter((event) => event.type === 'started' && event.name === 'crasher');
      const recorded = () =>
        fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').split('\n').slice(0, -1) : [];
      expect(
        await waitUntil(() => crasherStarts().length >= 5 && recorded().length >= 5, 20_000),
      ).toBe(true);

      // Each start after a crash waited the backoff: 150, 300, 600, 600 ms.
      const delays = events
        .filter((event) => event.type === 'restarting' && event.name === 'crasher')
        .slice(0, 4);
      expect(delays.map((event) => event.delayMs)).toEqual([150, 300, 600, 600]);
      const exits = events.filter((event) => event.type === 'exited' && event.name === 'crasher');
      for (let i = 0; i < 4; i += 1) {
        expect(crasherStarts()[i + 1].at - exits[i].at).toBeGreaterThanOrEqual(
          delays[i].delayMs - 5,
        );
      }
      expect(recorded().slice(0, 5)).toEqual(['0', '1', '2', '3', '4']);

      // The other child was never touched: the same process all along.
      expect(events.filter((event) => event.name === 'steady').map((event) => event.type)).toEqual([
        'started',
      ]);
      expect(isAlive(steadyGuard)).toBe(true);
      expect(supervisor.status().find((child) => child.name === 'steady')).toMatchObject({
        pid: steadyGuard,
        restarts: 0,
      });
    } finally {
      await supervisor.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(markedProcesses(mark)).toEqual([]);
  });

  it('a command killed -9 comes back, what its group left is stopped, and a child that ran long starts again from the first delay', async () => {
    const mark = randomUUID();
    marks.push(mark);
    const events = [];
    // The command runs a grandchild (as npm runs next-server); killing the command alone leaves it.
    const tree = `
      const { spawn } = require('node:child_process');
      spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      setInterval(() => {}, 1000);
    `;
    const supervisor = createSupervisor({
      children: [
        {
          name: 'tree',
          command: process.execPath,
          args: ['-e', tree],
          env: { COFFER_TEST_MARK: mark },
        },
      ],
      // Any run counts as stable here: every start after a crash waits the first delay.
      backoff: { initialMs: 100, maxMs: 5_000, stableMs: 0 },
      stopGraceMs: 3_000,
      log: quietLog,
      onEvent: (event) => events.push({ ...event, at: Date.now() }),
    });
    try {
      supervisor.start();
      for (let round = 1; round <= 2; round += 1) {
        const guard = supervisor.status()[0].pid;
        // guard → command → grandchild, all running.
        expect(
          await waitUntil(
            () => childrenOf(guard).length === 1 && childrenOf(childrenOf(guard)[0]).length === 1,
            10_000,
          ),
        ).toBe(true);
        const command = childrenOf(guard)[0];
        const grandchild = childrenOf(command)[0];
        process.kill(command, 'SIGKILL');
        expect(
          await waitUntil(
            () => supervisor.status()[0].restarts === round && supervisor.status()[0].pid !== null,
            10_000,
          ),
        ).toBe(true);
        expect(isAlive(grandchild)).toBe(false);
        expect(isAlive(guard)).toBe(false);
      }
      // It had run for the stable period both times: the first delay each time.
      expect(
        events.filter((event) => event.type === 'restarting').map((event) => event.delayMs),
      ).toEqual([100, 100]);
    } finally {
      await supervisor.stop();
    }
    expect(markedProcesses(mark)).toEqual([]);
  });
});

describe('stopping `npm start`', () => {
  /**
   * Runs the fixture as `npm start` runs coffer.mjs (the root package.json's own start script,
   * with the fixture for coffer.mjs), waits until every child and grandchild runs, and returns
   * the pids and how to wait for everything to be gone.
   */
  const startScript = () => {
    const script = JSON.parse(fs.readFileSync(ROOT_PACKAGE, 'utf8')).scripts.start;
    expect(script).toContain('scripts/coffer.mjs start');
    return script.replace('scripts/coffer.mjs start', FIXTURE);
  };

  async function startChain({ stubborn = false, step = false } = {}) {
    const mark = randomUUID();
    marks.push(mark);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-npm-start-'));
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'chain', private: true, scripts: { start: startScript() } }),
    );
    let output = '';
    const npm = spawn('npm', ['start'], {
      cwd: dir,
      env: {
        ...process.env,
        COFFER_TEST_MARK: mark,
        FIXTURE_STUBBORN: stubborn ? '1' : '0',
        FIXTURE_MODE: step ? 'step' : 'supervise',
        npm_config_update_notifier: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout.on('data', (chunk) => (output += chunk));
    npm.stderr.on('data', (chunk) => (output += chunk));
    const isReady = () =>
      (step || /ready steady/.test(output)) && /ready tree \d+ \d+/.test(output);
    if (!(await waitUntil(isReady, 30_000))) throw new Error(`the chain did not start:\n${output}`);
    const supervisor = Number(/supervisor (\d+)/.exec(output)[1]);
    // npm, the supervisor, 2 guards, steady, tree and its grandchild (and sh, without `exec`);
    // for a step: npm, the supervisor, tree and its grandchild (and the guard).
    expect(markedProcesses(mark).length).toBeGreaterThanOrEqual(step ? 4 : 7);
    return {
      npm: npm.pid,
      supervisor,
      output: () => output,
      /** Milliseconds until no process of the chain is left (or null after 15 s). */
      async timeUntilAllGone(from) {
        const isGone = await waitUntil(() => markedProcesses(mark).length === 0, 15_000, 100);
        fs.rmSync(dir, { recursive: true, force: true });
        return isGone ? Date.now() - from : null;
      },
    };
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGKILL']) {
    it(`${signal} to npm stops everything within 10 s`, async () => {
      const chain = await startChain();
      const from = Date.now();
      process.kill(chain.npm, signal);
      const ms = await chain.timeUntilAllGone(from);
      expect(ms, chain.output()).not.toBeNull();
      expect(ms).toBeLessThan(10_000);
    });
  }

  it('SIGTERM to npm stops children that ignore SIGTERM (SIGKILL after the grace) within 10 s', async () => {
    const chain = await startChain({ stubborn: true });
    const from = Date.now();
    process.kill(chain.npm, 'SIGTERM');
    const ms = await chain.timeUntilAllGone(from);
    expect(ms, chain.output()).not.toBeNull();
    expect(ms).toBeLessThan(10_000);
    expect(chain.output()).toMatch(/still running after 7s, killed: tree/);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL']) {
    it(`${signal} to npm while a setup step runs (the console's build) stops it within 10 s`, async () => {
      const chain = await startChain({ step: true });
      const from = Date.now();
      process.kill(chain.npm, signal);
      const ms = await chain.timeUntilAllGone(from);
      expect(ms, chain.output()).not.toBeNull();
      expect(ms).toBeLessThan(10_000);
    });
  }

  for (const signal of ['SIGTERM', 'SIGKILL']) {
    it(`${signal} to the supervisor itself stops everything within 10 s`, async () => {
      const chain = await startChain();
      const from = Date.now();
      process.kill(chain.supervisor, signal);
      const ms = await chain.timeUntilAllGone(from);
      expect(ms, chain.output()).not.toBeNull();
      expect(ms).toBeLessThan(10_000);
    });
  }
});
