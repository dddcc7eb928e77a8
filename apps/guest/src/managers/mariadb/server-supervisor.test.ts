import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { errorLogTailOf, redactLogLine } from './server-process';
import { DEFAULT_RESTART_POLICY, RestartBudget } from './server-supervisor';

describe('the restart budget', () => {
  it('backs off 1 s, 2 s, 4 s… and gives up after the window’s restarts', () => {
    const budget = new RestartBudget(DEFAULT_RESTART_POLICY);
    const delays: (number | null)[] = [];
    let now = 0;
    for (let restart = 0; restart < 6; restart++) {
      const delay = budget.nextDelayMs(now);
      delays.push(delay);
      if (delay === null) break;
      now += delay;
      budget.record(now);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, null]);
  });

  it('forgets restarts older than the window, and everything on reset', () => {
    const budget = new RestartBudget({ ...DEFAULT_RESTART_POLICY, maxRestarts: 2 });
    budget.record(0);
    budget.record(1000);
    expect(budget.nextDelayMs(2000)).toBeNull();
    expect(budget.nextDelayMs(DEFAULT_RESTART_POLICY.windowMs + 500)).toBe(2000);
    budget.reset();
    expect(budget.nextDelayMs(0)).toBe(1000);
  });
});

describe("the error log's last lines", () => {
  it('are bounded, name the last error, and mask what looks like a password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-errlog-'));
    try {
      const log = join(dir, 'mariadb.err');
      const filler = Array.from(
        { length: 50 },
        (_, index) => `2026-12-05 1:00:00 0 [Note] line ${index}`,
      );
      writeFileSync(
        log,
        [
          ...filler,
          "2026-12-05 1:00:01 0 [ERROR] /usr/sbin/mariadbd: unknown variable 'no_such_option=1'",
          '2026-12-05 1:00:01 0 [ERROR] Aborting',
          `2026-12-05 1:00:01 0 [Note] ${'x'.repeat(1000)}`,
          '',
        ].join('\n'),
      );
      const { lastError, lines } = errorLogTailOf(log, 20);
      expect(lines).toHaveLength(20);
      expect(lines.every((line) => line.length <= 300)).toBe(true);
      expect(lastError).toBe("unknown variable 'no_such_option=1'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(redactLogLine("Access denied; IDENTIFIED BY 'hunter2' password=s3cret")).toBe(
      'Access denied; IDENTIFIED BY *** password=***',
    );
  });
});
