// The failed tests of a run, by name, from vitest's and Playwright's JSON reports: printed at
// the end of `npm test`, next to the summary, so the last lines of a run (all a CI log may
// keep) say which test failed and why, not only which step.
import path from 'node:path';

const MESSAGE_LINES = 6;

function firstLines(text) {
  return String(text ?? '')
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .slice(0, MESSAGE_LINES);
}

/** `[{ where, name, message: string[] }]` for a vitest JSON report (null gives []). */
export function vitestFailures(report, root) {
  const out = [];
  for (const file of report?.testResults ?? []) {
    const where = root ? path.relative(root, file.name) : file.name;
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) {
      out.push({ where, name: a.fullName ?? a.title, message: firstLines(a.failureMessages?.[0]) });
    }
    // A file that failed to load or whose hooks threw has no failed assertion of its own.
    if (!failed.length && file.status === 'failed') {
      out.push({ where, name: '(the file itself)', message: firstLines(file.message) });
    }
  }
  return out;
}

/**
 * The tests that passed only on a retry (the cloud suites retry once): vitest keeps the failed
 * try's messages on a passed result. Printed too, so a flaky test is seen, not hidden.
 */
export function vitestRetried(report, root) {
  const out = [];
  for (const file of report?.testResults ?? []) {
    const where = root ? path.relative(root, file.name) : file.name;
    for (const a of file.assertionResults ?? []) {
      if (a.status !== 'passed' || !a.failureMessages?.length) continue;
      out.push({ where, name: a.fullName ?? a.title, message: firstLines(a.failureMessages[0]) });
    }
  }
  return out;
}

/** The same for a Playwright JSON report. */
export function playwrightFailures(report) {
  const out = [];
  const walk = (suite, titles) => {
    const here = suite.title ? [...titles, suite.title] : titles;
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status !== 'unexpected') continue;
        const last = test.results?.[test.results.length - 1];
        out.push({
          where: spec.file ?? here[0] ?? '',
          name: [...here.slice(1), spec.title].join(' › '),
          message: firstLines(last?.error?.message ?? last?.errors?.[0]?.message),
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child, here);
  };
  for (const suite of report?.suites ?? []) walk(suite, []);
  return out;
}

/** Prints the list under its heading (nothing when it is empty). */
export function printFailures(failures, heading = 'Failed tests') {
  if (!failures.length) return;
  console.log(`\n${heading}`);
  for (const f of failures) {
    console.log(`  ✗ ${f.where} › ${f.name}`);
    for (const line of f.message) console.log(`      ${line}`);
  }
}
