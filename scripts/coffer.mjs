#!/usr/bin/env node
// Coffer's one entry point for people and CI (Node built-ins only, runs before `npm ci`):
//
//   npm start            set up everything and run Coffer (console, API, workers)
//   npm test             set up everything and run every test (unit, integration, e2e)
//   node scripts/coffer.mjs services [start|stop|env]   the embedded PostgreSQL and Redis
//   node scripts/coffer.mjs stop                        stop the embedded services
//   node scripts/coffer.mjs bench <name>                run bench/<name>.ts (npm run bench:<name>)
//   node scripts/coffer.mjs openstack <install|start|stop|status>   the loopback OpenStack
//                                                       (scripts/openstack/, docs/openstack.md)
//
// Settings (all optional): COFFER_DATA_DIR, COFFER_PG_PORT, COFFER_REDIS_PORT, PORT, HOST,
// DATABASE_URL and REDIS_URL (use external services instead of the embedded ones).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RUNTIME_PACKAGES,
  TEST_PACKAGES,
  ensureNodeModules,
  ensurePrismaClient,
  ensureSystemPackages,
} from './lib/setup.mjs';
import {
  ensurePostgres,
  ensureRedis,
  loadSecrets,
  recreateDatabase,
  stopPostgres,
  stopRedis,
  stopStartedServices,
} from './lib/services.mjs';
import { runCloudTests } from './lib/cloud-tests.mjs';
import {
  playwrightFailures,
  printFailures,
  vitestFailures,
  vitestRetried,
} from './lib/failed-tests.mjs';
import { findNpmLauncher, runGuarded, runSupervised, watchLauncher } from './lib/supervisor.mjs';
import {
  SetupError,
  ensureDir,
  isPortOpen,
  log,
  run,
  runAsync,
  waitForPort,
} from './lib/system.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const PROFILES = {
  start: {
    dataDir: path.join(root, '.coffer'),
    pgPort: 55432,
    redisPort: 56379,
    webPort: 3000,
    database: 'coffer',
  },
  test: {
    dataDir: path.join(root, '.coffer-test'),
    pgPort: 55442,
    redisPort: 56389,
    webPort: 3100,
    database: 'coffer_test',
  },
  bench: {
    dataDir: path.join(root, '.coffer-bench'),
    pgPort: 55452,
    redisPort: 56399,
    webPort: 3200,
    database: 'coffer_bench',
  },
};

function resolveProfile(name) {
  const defaults = PROFILES[name];
  const portFrom = (variable, fallback) => {
    const raw = process.env[variable];
    if (!raw) return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new SetupError(`${variable} must be a port number, got "${raw}"`);
    return port;
  };
  return {
    name,
    dataDir: path.resolve(process.env.COFFER_DATA_DIR || defaults.dataDir),
    pgPort: portFrom('COFFER_PG_PORT', defaults.pgPort),
    redisPort: portFrom('COFFER_REDIS_PORT', defaults.redisPort),
    webPort: portFrom('PORT', defaults.webPort),
    database: defaults.database,
  };
}

const commonEnv = {
  NEXT_TELEMETRY_DISABLED: '1',
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  CHECKPOINT_DISABLE: '1',
};

function setup({ forTests }) {
  ensureSystemPackages(forTests ? [...RUNTIME_PACKAGES, ...TEST_PACKAGES] : RUNTIME_PACKAGES);
  ensureNodeModules(root);
  ensurePrismaClient(root);
  buildGuest();
}

/** Starts the embedded services (unless external URLs are given) and returns the env for Coffer. */
async function startServices(profile) {
  ensureDir(profile.dataDir, 0o755);
  const secrets = loadSecrets(profile.dataDir);
  // Which embedded services this call started (not running before; external ones: never).
  const started = {};
  let databaseUrl = process.env.DATABASE_URL;
  let adminUrl = null;
  if (!databaseUrl) {
    const pg = await ensurePostgres({
      dataDir: profile.dataDir,
      port: profile.pgPort,
      database: profile.database,
      secrets,
    });
    databaseUrl = pg.url;
    adminUrl = pg.adminUrl;
    started.postgres = pg.started;
  } else {
    log.ok('using DATABASE_URL from the environment');
  }
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const redis = await ensureRedis({ dataDir: profile.dataDir, port: profile.redisPort, secrets });
    redisUrl = redis.url;
    started.redis = redis.started;
  } else {
    log.ok('using REDIS_URL from the environment');
  }
  const publicUrl = process.env.COFFER_PUBLIC_URL || `http://localhost:${profile.webPort}`;
  const env = {
    ...commonEnv,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    COFFER_DATA_DIR: profile.dataDir,
    BETTER_AUTH_SECRET: process.env.BETTER_AUTH_SECRET || secrets.authSecret,
    BETTER_AUTH_URL: publicUrl,
    COFFER_PUBLIC_URL: publicUrl,
    COFFER_MASTER_KEY: process.env.COFFER_MASTER_KEY || secrets.masterKey,
  };
  return { env, adminUrl, secrets, started };
}

function deployMigrations(env) {
  log.step('applying database migrations');
  run('node', [path.join(root, 'packages/db/scripts/migrate.mjs'), 'deploy'], { env, cwd: root });
}

function seed(env) {
  log.step('seeding flavors, datastores and the first operator');
  const result = run(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'packages/db/scripts/seed.ts')],
    {
      env,
      cwd: root,
      quiet: true,
    },
  );
  return result.stdout.trim();
}

function buildWeb(env) {
  log.step('building the console (next build)');
  run('npx', ['turbo', 'run', 'build', '--filter=@coffer/web', '--output-logs=errors-only'], {
    env,
    cwd: root,
  });
}

/** The guest agent runs as one bundled file (small, and packable for a VM image). */
function buildGuest() {
  log.step('bundling the guest agent');
  run('npm', ['run', 'build', '-w', '@coffer/guest'], { cwd: root, quiet: true });
}

async function commandStart() {
  const profile = resolveProfile('start');
  // Started by npm: npm gone during setup (a signal npm does not pass on) ends this too.
  const launcher = findNpmLauncher();
  const stopWatchingLauncher = watchLauncher(launcher, () => {
    log.error('npm is gone: stopping');
    process.exit(1);
  });
  // Another console on the port (a Coffer already running?) would answer for this one.
  if (await isPortOpen(profile.webPort)) {
    throw new SetupError(
      `port ${profile.webPort} is already in use (is Coffer already running?); stop it, or set PORT to another port`,
    );
  }
  setup({ forTests: false });
  const { env } = await startServices(profile);
  deployMigrations(env);
  const seedOutput = seed(env);
  // The long step, guarded: should this process die meanwhile, the build goes with it.
  log.step('building the console (next build)');
  const buildCode = await runGuarded(
    'npx',
    ['turbo', 'run', 'build', '--filter=@coffer/web', '--output-logs=errors-only'],
    {
      env,
      cwd: root,
    },
  );
  if (buildCode !== 0) throw new SetupError(`building the console failed (exit code ${buildCode})`);

  const host = process.env.HOST || '0.0.0.0';
  // Each worker role in a process of its own (one that crashes does not take the others down),
  // and the console; all supervised (scripts/lib/supervisor.mjs): a child that dies is started
  // again with backoff, and any stop signal (or npm going away) stops them all within 10 s.
  const childEnv = { ...env, NODE_ENV: 'production' };
  const roles = ['taskmanager', 'conductor', 'watchdog'].filter((role) =>
    fs.existsSync(path.join(root, `apps/worker/src/${role}/main.ts`)),
  );
  stopWatchingLauncher();
  const { shutdown } = runSupervised({
    launcher,
    children: [
      ...roles.map((role) => ({
        name: role,
        command: process.execPath,
        args: ['--import', 'tsx', path.join(root, `apps/worker/src/${role}/main.ts`)],
        cwd: root,
        // The role shows operators how many times it was started again (Admin page).
        env: ({ restarts }) => ({ ...childEnv, COFFER_ROLE_RESTARTS: String(restarts) }),
      })),
      {
        name: 'console',
        command: 'npm',
        args: [
          'run',
          'start',
          '-w',
          '@coffer/web',
          '--',
          '-p',
          String(profile.webPort),
          '-H',
          host,
        ],
        cwd: root,
        env: childEnv,
      },
    ],
  });
  try {
    await waitForPort(profile.webPort, { timeoutMs: 120_000, what: 'the console' });
  } catch (error) {
    log.error(error.message);
    return shutdown('the console did not start', 1);
  }

  console.log('');
  log.ok(`Coffer is running: ${env.COFFER_PUBLIC_URL}`);
  if (seedOutput)
    console.log(
      seedOutput
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
    );
  log.info(
    `data directory: ${profile.dataDir}   (Ctrl-C stops the console and workers; \`npm run stop\` stops the embedded services)`,
  );
  log.info(
    `roles run supervised: ${[...roles, 'console'].join(', ')} (one that dies is started again; Admin shows the workers' roles)`,
  );
}

/** Runs a test step; records its outcome instead of stopping at the first failure. */
async function step(results, name, command, args, options) {
  log.step(name);
  const started = Date.now();
  const code = await runAsync(command, args, { cwd: root, ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: code === 0, seconds });
  (code === 0 ? log.ok : log.error)(`${name} (${seconds}s)`);
  return code === 0;
}

function readJsonReport(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** COFFER_TEST_FILES_AT_ONCE: vitest files run at once (default 2); refused before anything starts when not 1-99. */
function testFilesAtOnce() {
  const value = process.env.COFFER_TEST_FILES_AT_ONCE ?? '2';
  if (!/^[1-9]\d?$/.test(value))
    throw new SetupError(
      `COFFER_TEST_FILES_AT_ONCE must be a whole number from 1 to 99, got "${value}"`,
    );
  return value;
}

async function commandTest() {
  testFilesAtOnce();
  const profile = resolveProfile('test');
  setup({ forTests: true });
  const { env, adminUrl, secrets, started } = await startServices(profile);
  let code = 1;
  let failures = [];
  let retried = [];
  try {
    ({ code, failures, retried } = await runTests(profile, env, adminUrl));
  } finally {
    // What this run started, it stops; services running before it (`services env`), and
    // external ones, are left as they were.
    const { stopped, kept } = await stopStartedServices({
      dataDir: profile.dataDir,
      redisPort: profile.redisPort,
      secrets,
      started,
    });
    if (stopped.length) log.info(`stopped the ${stopped.join(' and ')} this run started`);
    if (kept.length)
      log.info(
        `left the ${kept.join(' and ')} running (running before this run; \`npm run stop\` stops them)`,
      );
  }
  // Last, so that the end of the output (all a CI log may keep) names them.
  printFailures(retried, 'Passed only on a retry (cloud suites; the failed try said)');
  printFailures(failures);
  process.exit(code);
}

/** Runs a step with its output appended to `logFile`; resolves with its result. */
async function loggedStep(name, command, args, options, logFile) {
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n▸ ${name}\n`);
  const started = Date.now();
  // At a low priority: CPU work beside the suites' servers, guests and browser, which have
  // deadlines.
  const code = await runAsync('nice', ['-n', '15', command, ...args], {
    cwd: root,
    ...options,
    stdio: ['ignore', fd, fd],
  }).finally(() => fs.closeSync(fd));
  return { name, ok: code === 0, seconds: ((Date.now() - started) / 1000).toFixed(1) };
}

/** Background steps one after the other, output to `logFile`: `add` runs one, `steps` their outcomes. */
function backgroundSteps(logFile) {
  fs.writeFileSync(logFile, '');
  const steps = [];
  return {
    steps,
    add: async (...args) => {
      const result = await loggedStep(...args, logFile);
      steps.push(result);
      return result.ok;
    },
  };
}

/** The e2e step's fresh, migrated and seeded database and its production build: `{ steps, e2eReady }`. */
async function prepareE2e({ e2eEnv, logFile }) {
  const { steps, add } = backgroundSteps(logFile);
  const e2eReady =
    (await add(
      'e2e preparation: migrations',
      'node',
      [path.join(root, 'packages/db/scripts/migrate.mjs'), 'deploy'],
      { env: e2eEnv },
    )) &&
    (await add(
      'e2e preparation: seed',
      process.execPath,
      ['--import', 'tsx', path.join(root, 'packages/db/scripts/seed.ts')],
      { env: e2eEnv },
    )) &&
    (await add(
      'e2e preparation: the console built (next build)',
      'npx',
      // --only: the console alone, not its ^build dependencies. Setup bundled the guest before
      // the suites started guests from it; turbo rebuilding that bundle, or restoring it from its
      // cache over the files in place, while they run would start a guest from half a bundle.
      ['turbo', 'run', 'build', '--filter=@coffer/web', '--only', '--output-logs=errors-only'],
      // The static checks check the console's types (apps/web/tsconfig.json), not the build.
      { env: { ...e2eEnv, COFFER_BUILD_TYPES_CHECKED_APART: '1' } },
    ));
  return { steps, e2eReady };
}

/** The static checks (schema and migrations agree, lint, format, types): `{ steps }`. */
async function runStaticChecks({ testEnv, adminUrl, logFile }) {
  const { steps, add } = backgroundSteps(logFile);
  await add(
    'migrations match schema.prisma',
    'node',
    [path.join(root, 'packages/db/scripts/migrate.mjs'), 'check'],
    {
      env: {
        ...testEnv,
        DATABASE_URL: adminUrl
          ? adminUrl.replace(/\/postgres$/, '/coffer_migrations_check')
          : testEnv.DATABASE_URL,
      },
    },
  );
  // Lint first: it holds each package's import boundaries (its README's "Must not import",
  // tooling/eslint/boundaries.js); --continue lists every package's violations, not the first.
  await add(
    'lint (with import boundaries)',
    'npx',
    ['turbo', 'run', 'lint', '--continue', '--concurrency=2', '--output-logs=errors-only'],
    { env: testEnv },
  );
  // The code's format (tooling/prettier; prose keeps its own layout: .prettierignore).
  await add('format (prettier --check)', 'npx', ['prettier', '--check', '--log-level=warn', '.'], {
    env: testEnv,
  });
  // The types, as two programs rather than one per package (tsconfig.check.json: every Node
  // package, e2e and bench; then the console with its DOM and JSX): the same files and rules,
  // a third of the CPU (each package's own program re-read the packages it imports).
  await add('typecheck (Node packages, e2e, bench)', 'npx', ['tsc', '-p', 'tsconfig.check.json'], {
    env: testEnv,
  });
  await add('typecheck (console)', 'npx', ['tsc', '-p', 'apps/web/tsconfig.json'], {
    env: testEnv,
  });
  return { steps };
}

/** Prints a background chain's log and records its steps. */
function reportBackground(results, logFile, steps) {
  if (fs.existsSync(logFile)) process.stdout.write(fs.readFileSync(logFile, 'utf8'));
  for (const s of steps) {
    results.push(s);
    (s.ok ? log.ok : log.error)(`${s.name} (${s.seconds}s)`);
  }
}

/** Every test step against the started services; resolves with the exit code (0: all passed). */
async function runTests(profile, env, adminUrl) {
  const reports = ensureDir(path.join(profile.dataDir, 'reports'));
  for (const file of fs.readdirSync(reports)) fs.rmSync(path.join(reports, file), { force: true });
  // Every process of the run also logs at debug level here, and the tests list every secret
  // they use or learn; the last step scans the one for the other (packages/testing).
  const logDir = path.join(profile.dataDir, 'logs-under-test');
  fs.rmSync(logDir, { recursive: true, force: true });
  const testEnv = {
    ...process.env,
    ...env,
    // Test suites create (and drop) their own uniquely named databases on this server.
    COFFER_TEST_PG_ADMIN_URL: adminUrl ?? env.DATABASE_URL,
    COFFER_TEST_DATA_DIR: path.join(profile.dataDir, 'instances-under-test'),
    COFFER_TEST_LOG_DIR: logDir,
  };
  // NODE_ENV is no test's to force: vitest sets `test` itself, and the end-to-end console and
  // workers run as `npm start` runs them (production, below), Origin checks and all.
  delete testEnv.NODE_ENV;
  const results = [];

  // The cloud suites (issue 14: packages/openstack, the OpenStack provider, Swift with Keystone,
  // the guest image booted under QEMU) need the loopback OpenStack: it installs and starts in
  // the background from here, and they run beside the main suites once it is up.
  // COFFER_TEST_CLOUD=off leaves them out (a quick local run; CI never sets it).
  const cloudOff = process.env.COFFER_TEST_CLOUD === 'off';
  if (cloudOff) log.warn('COFFER_TEST_CLOUD=off: the OpenStack and guest VM suites do not run');
  const cloud = cloudOff
    ? null
    : runCloudTests({ root, env: testEnv, reportsDir: reports }).catch((error) => {
        log.error(`cloud suites: ${error.message}`);
        return { steps: [], logFile: path.join(reports, 'cloud-tests.log') };
      });

  // In the background beside the main vitest run, at a low priority, their output kept in logs
  // printed after it: first the end-to-end step's preparation (a fresh, migrated and seeded
  // database; the production build), then the static checks. They are CPU work, and one after
  // the other the run would not fit in its time. The e2e step starts as soon as vitest ends and
  // its preparation is done; the static checks go on beside it (their low priority leaves the
  // CPU to the e2e step's console and browser) and are waited for after it.
  const e2eDatabase = 'coffer_e2e';
  let e2eEnv = testEnv;
  if (adminUrl) {
    recreateDatabase(adminUrl, e2eDatabase);
    e2eEnv = { ...testEnv, DATABASE_URL: adminUrl.replace(/\/postgres$/, `/${e2eDatabase}`) };
  }
  e2eEnv = {
    ...e2eEnv,
    PORT: String(profile.webPort),
    BETTER_AUTH_URL: `http://localhost:${profile.webPort}`,
    COFFER_PUBLIC_URL: `http://localhost:${profile.webPort}`,
    E2E_PORT: String(profile.webPort),
    PLAYWRIGHT_JSON_OUTPUT_NAME: path.join(reports, 'playwright.json'),
    NODE_ENV: 'production',
  };
  if (adminUrl) recreateDatabase(adminUrl, 'coffer_migrations_check');
  const e2eLog = path.join(reports, 'e2e-preparation.log');
  const staticLog = path.join(reports, 'static-checks.log');
  const e2ePreparation = prepareE2e({ e2eEnv, logFile: e2eLog }).catch((error) => ({
    steps: [{ name: `e2e preparation: ${error.message}`, ok: false, seconds: '0' }],
    e2eReady: false,
  }));
  const staticChecks = e2ePreparation
    .then(() => runStaticChecks({ testEnv, adminUrl, logFile: staticLog }))
    .catch((error) => ({
      steps: [{ name: `static checks: ${error.message}`, ok: false, seconds: '0' }],
    }));

  // Unit and integration tests (vitest projects: every package with a vitest.config.ts).
  // Two files at a time by default (COFFER_TEST_FILES_AT_ONCE): a file mostly waits on the
  // servers it starts, and one at a time the step took 1600 s of a 37-minute run here
  // (docs/development.md).
  const vitestReport = path.join(reports, 'vitest.json');
  const filesAtOnce = testFilesAtOnce();
  await step(
    results,
    'unit and integration tests (vitest)',
    'npx',
    [
      'vitest',
      'run',
      `--maxWorkers=${filesAtOnce}`,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${vitestReport}`,
    ],
    // Each test file starts workers of its own, and each worker fills its warm pool of volume
    // images (packages/compute): two small images, not the fourteen an operator's worker keeps,
    // unless the caller says otherwise (the pool's own tests set theirs).
    {
      env: {
        ...testEnv,
        COFFER_LOCAL_VOLUME_POOL: process.env.COFFER_LOCAL_VOLUME_POOL ?? '1:2',
      },
    },
  );

  log.step('the e2e preparation (ran beside the vitest step)');
  const { steps: e2eSteps, e2eReady } = await e2ePreparation;
  reportBackground(results, e2eLog, e2eSteps);
  if (e2eReady) {
    await step(
      results,
      'end-to-end tests (Playwright, Chromium)',
      'npx',
      ['playwright', 'test', '-c', 'e2e/playwright.config.ts', '--reporter=list,json'],
      {
        env: e2eEnv,
      },
    );
  }

  log.step('static checks (ran beside the vitest and e2e steps)');
  reportBackground(results, staticLog, (await staticChecks).steps);

  if (cloud) {
    log.step('cloud suites (loopback OpenStack, guest VM)');
    const started = Date.now();
    const { steps, logFile } = await cloud;
    if (Date.now() - started > 1000)
      log.info(`waited ${((Date.now() - started) / 1000).toFixed(0)} s for the cloud suites`);
    process.stdout.write(fs.readFileSync(logFile, 'utf8'));
    for (const s of steps) {
      results.push(s);
      (s.ok ? log.ok : log.error)(`${s.name} (${s.seconds}s)`);
    }
    if (!steps.some((s) => s.name.startsWith('OpenStack and guest VM tests')))
      results.push({ name: 'cloud suites (OpenStack did not come up)', ok: false, seconds: '0' });
  }

  // No password, token, guest secret or key of the run in any of its logs.
  await step(
    results,
    'no secret in any log of the run',
    process.execPath,
    ['--import', 'tsx', path.join(root, 'packages/testing/src/scan-secrets.ts'), logDir],
    {
      env: e2eEnv,
    },
  );

  // Summary.
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const vitest = readJsonReport(vitestReport);
  if (vitest) {
    passed += vitest.numPassedTests ?? 0;
    failed += vitest.numFailedTests ?? 0;
    skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0);
  }
  const cloudReport = readJsonReport(path.join(reports, 'vitest-cloud.json'));
  if (cloudReport) {
    passed += cloudReport.numPassedTests ?? 0;
    failed += cloudReport.numFailedTests ?? 0;
    skipped += (cloudReport.numPendingTests ?? 0) + (cloudReport.numTodoTests ?? 0);
  }
  const playwright = readJsonReport(path.join(reports, 'playwright.json'));
  if (playwright?.stats) {
    passed += (playwright.stats.expected ?? 0) + (playwright.stats.flaky ?? 0);
    failed += playwright.stats.unexpected ?? 0;
    skipped += playwright.stats.skipped ?? 0;
  }
  const failedSteps = results.filter((r) => !r.ok);
  console.log('\nSummary');
  for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'}  ${r.name} (${r.seconds}s)`);
  // A failed step without failed tests (a type error, a crashed runner) still counts as a failure.
  if (failedSteps.length && failed === 0) failed = failedSteps.length;
  console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return {
    code: failedSteps.length || failed ? 1 : 0,
    retried: vitestRetried(cloudReport, root),
    failures: [
      ...vitestFailures(vitest, root),
      ...vitestFailures(cloudReport, root),
      ...playwrightFailures(playwright),
    ],
  };
}

/** Runs bench/<name>.ts against its own services and a fresh, migrated and seeded database. */
async function commandBench(name) {
  if (
    !name ||
    !/^[a-z0-9-]+$/.test(name) ||
    !fs.existsSync(path.join(root, 'bench', `${name}.ts`))
  ) {
    const available = fs
      .readdirSync(path.join(root, 'bench'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3));
    throw new SetupError(`unknown benchmark "${name ?? ''}"; available: ${available.join(', ')}`);
  }
  const profile = resolveProfile('bench');
  setup({ forTests: false });
  const { env, adminUrl } = await startServices(profile);
  let benchEnv = { ...process.env, ...env, NODE_ENV: 'production', LOG_LEVEL: 'warn' };
  if (adminUrl) {
    recreateDatabase(adminUrl, profile.database);
    benchEnv = {
      ...benchEnv,
      DATABASE_URL: adminUrl.replace(/\/postgres$/, `/${profile.database}`),
    };
  }
  deployMigrations(benchEnv);
  seed(benchEnv);
  log.step(`running bench/${name}.ts`);
  // The benchmark calls the API's procedures in-process: resolve the web app's `~/` paths,
  // and the server-only marker as a server would.
  const code = await runAsync(
    process.execPath,
    ['--conditions=react-server', '--import', 'tsx', path.join(root, 'bench', `${name}.ts`)],
    {
      cwd: root,
      env: {
        ...benchEnv,
        TSX_TSCONFIG_PATH: path.join(root, 'apps/web/tsconfig.json'),
        COFFER_BENCH_DIR: path.join(profile.dataDir, name),
      },
    },
  );
  process.exit(code);
}

/** The loopback OpenStack (Debian 12's Zed) that packages/openstack is tested against. */
async function commandOpenstack(action) {
  const scripts = { install: 'install.sh', start: 'up.sh', stop: 'down.sh', status: 'status.sh' };
  if (!scripts[action])
    throw new SetupError(
      `unknown openstack action "${action ?? ''}" (install, start, stop, status)`,
    );
  const code = await runAsync('bash', [path.join(root, 'scripts', 'openstack', scripts[action])], {
    cwd: root,
  });
  process.exit(code);
}

async function commandServices(action = 'start') {
  const profile = resolveProfile(process.env.COFFER_PROFILE === 'test' ? 'test' : 'start');
  if (action === 'stop') return commandStop();
  if (action !== 'start' && action !== 'env')
    throw new SetupError(`unknown services action "${action}" (start, stop, env)`);
  // With `env`, stdout is for `eval`: progress goes to stderr.
  const print = console.log;
  if (action === 'env') console.log = console.error;
  ensureSystemPackages(RUNTIME_PACKAGES);
  const { env } = await startServices(profile);
  console.log = print;
  if (action === 'env') {
    // For a shell: eval "$(node scripts/coffer.mjs services env)". Contains secrets: do not log it.
    for (const [key, value] of Object.entries(env)) console.log(`export ${key}='${value}'`);
  }
}

async function commandStop() {
  const dataDirs = new Set();
  for (const name of ['start', 'test', 'bench']) {
    const profile = resolveProfile(name);
    if (dataDirs.has(profile.dataDir)) continue; // COFFER_DATA_DIR names one for all three
    dataDirs.add(profile.dataDir);
    if (!fs.existsSync(path.join(profile.dataDir, 'secrets.json'))) continue;
    const secrets = loadSecrets(profile.dataDir);
    // The port Redis was started on (its redis.conf), whatever COFFER_REDIS_PORT says now.
    const port = redisConfPort(profile.dataDir) ?? profile.redisPort;
    await stopRedis({ port, secrets });
    await stopPostgres({ dataDir: profile.dataDir });
  }
}

function redisConfPort(dataDir) {
  const conf = path.join(dataDir, 'redis', 'redis.conf');
  if (!fs.existsSync(conf)) return null;
  const match = /^port (\d+)$/m.exec(fs.readFileSync(conf, 'utf8'));
  return match ? Number(match[1]) : null;
}

/**
 * A new sign-in password for a user (`npm run reset-password -- <email>`): for an operator
 * locked out, or any user when no SMTP server mails reset links. Against the embedded
 * database of `npm start` (or DATABASE_URL); services it had to start for this, it stops.
 */
async function commandResetPassword(args) {
  const profile = resolveProfile('start');
  const { env, secrets, started } = await startServices(profile);
  try {
    const result = run(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'packages/db/scripts/reset-password.ts'), ...args],
      { env, cwd: root, allowFailure: true },
    );
    process.exitCode = result.status ?? 1;
  } finally {
    await stopStartedServices({
      dataDir: profile.dataDir,
      redisPort: profile.redisPort,
      secrets,
      started,
    });
  }
}

const commands = {
  start: commandStart,
  'reset-password': () => commandResetPassword(process.argv.slice(3)),
  test: commandTest,
  setup: () => setup({ forTests: process.argv.includes('--test') }),
  services: () => commandServices(process.argv[3]),
  stop: commandStop,
  bench: () => commandBench(process.argv[3]),
  openstack: () => commandOpenstack(process.argv[3]),
};

const command = commands[process.argv[2]];
if (!command) {
  console.error(
    'usage: node scripts/coffer.mjs <start|test|setup|services [start|stop|env]|stop|reset-password <email>|bench <name>|openstack <install|start|stop|status>>',
  );
  process.exit(2);
}
try {
  await command();
} catch (error) {
  if (error instanceof SetupError) {
    log.error(error.message);
    process.exit(1);
  }
  throw error;
}
