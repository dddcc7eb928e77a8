import { describe, expect, it } from 'vitest';

import { playwrightFailures, vitestFailures, vitestRetried } from './failed-tests.mjs';

describe('failed tests from the JSON reports', () => {
  it('names each failed vitest test with its file and the first lines of its message', () => {
    const report = {
      testResults: [
        {
          name: '/repo/apps/worker/src/a.test.ts',
          status: 'failed',
          assertionResults: [
            { fullName: 'a passes', status: 'passed', failureMessages: [] },
            {
              fullName: 'a › fails',
              status: 'failed',
              failureMessages: ['\x1b[31mAssertionError: expected 1 to be 2\x1b[0m\n\n    at x\n'],
            },
          ],
        },
        {
          name: '/repo/b.test.ts',
          status: 'failed',
          message: 'Hook timed out',
          assertionResults: [],
        },
        { name: '/repo/c.test.ts', status: 'passed', assertionResults: [] },
      ],
    };
    expect(vitestFailures(report, '/repo')).toEqual([
      {
        where: 'apps/worker/src/a.test.ts',
        name: 'a › fails',
        message: ['AssertionError: expected 1 to be 2', '    at x'],
      },
      { where: 'b.test.ts', name: '(the file itself)', message: ['Hook timed out'] },
    ]);
    expect(vitestFailures(null)).toEqual([]);
  });

  it('names each unexpected Playwright result with its spec and titles', () => {
    const report = {
      suites: [
        {
          title: 'logs.spec.ts',
          file: 'logs.spec.ts',
          specs: [],
          suites: [
            {
              title: 'logs',
              specs: [
                {
                  title: 'shows the slow log',
                  file: 'logs.spec.ts',
                  tests: [{ status: 'unexpected', results: [{ error: { message: 'timed out' } }] }],
                },
                { title: 'passes', file: 'logs.spec.ts', tests: [{ status: 'expected' }] },
              ],
            },
          ],
        },
      ],
    };
    expect(playwrightFailures(report)).toEqual([
      { where: 'logs.spec.ts', name: 'logs › shows the slow log', message: ['timed out'] },
    ]);
  });
});

describe('tests that passed only on a retry', () => {
  it('are the passed results that carry a failed try message', () => {
    const report = {
      testResults: [
        {
          name: '/repo/x.cloud.test.ts',
          assertionResults: [
            { fullName: 'steady', status: 'passed', failureMessages: [] },
            { fullName: 'flaky', status: 'passed', failureMessages: ['Error: timed out'] },
          ],
        },
      ],
    };
    expect(vitestRetried(report, '/repo')).toEqual([
      { where: 'x.cloud.test.ts', name: 'flaky', message: ['Error: timed out'] },
    ]);
  });
});
