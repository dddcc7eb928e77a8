// The whole Trove path on a real VM (issue 14 part 3): the guest image, built by
// `npm run image:build`, boots under QEMU with a config drive carrying a real instance's two
// files: the instance is created in this test's database as the web app does, the real worker's
// taskmanager makes its server through a provider that boots the image with the user data the
// OpenStack provider gives Nova (test/qemu-provider.ts), the guest's Redis URL pointing at
// 10.0.2.2 (QEMU's NAT for this machine's loopback) with its own ACL user. The guest agent
// inside the VM reaches Redis, installs and starts mariadbd on the volume, reports RUNNING
// through the conductor into PostgreSQL, and answers SQL through the forwarded port as the
// user the test created through Coffer.
// Needs root, the test services' env (DATABASE_URL, REDIS_URL), qemu-system-x86, qemu-utils,
// mmdebstrap, genisoimage (README "The VM test").
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { filesOfUserData } from '@coffer/compute-openstack';
import { GUEST_AGENT_CONFIG_FILE, guestAgentConfigSchema } from '@coffer/contracts';
import { testPorts } from '@coffer/testing/ports';
import { waitFor } from '@coffer/testing/wait';
import { REDIS_URL, WorkerTestContext } from '@coffer/worker/test/harness';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

import { QemuComputeProvider } from './qemu-provider';
import { readGuestImage, type Vm } from './vm';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const CACHE_DIR = process.env.COFFER_GUEST_IMAGE_CACHE_DIR ?? '/var/cache/coffer/guest-image';
const OUT_DIR = process.env.COFFER_GUEST_IMAGE_OUT_DIR ?? join(CACHE_DIR, 'image');
const TEST_DIR = join(
  process.env.COFFER_TEST_DATA_DIR ?? '/tmp/coffer-test-instances',
  `guest-vm-${process.pid}`,
);
const timings: Record<string, number> = {};
const vms: Vm[] = [];
let ctx: WorkerTestContext | undefined;
let provider: QemuComputeProvider;
let passed = false;
let vmStartedAt = 0;

function vmExited(): boolean {
  const child = vms[0]?.process;
  return !!child && (child.exitCode !== null || child.signalCode !== null);
}

function tail(path: string, lines: number): string {
  if (!existsSync(path)) return `(no ${path})`;
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** `npm run image:build`, its output in a log (printed when it fails). */
async function buildImage(): Promise<void> {
  const log = join(TEST_DIR, 'image-build.log');
  const out = createWriteStream(log);
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/build.mjs'], {
    cwd: PACKAGE_DIR,
    env: {
      ...process.env,
      COFFER_GUEST_IMAGE_CACHE_DIR: CACHE_DIR,
      COFFER_GUEST_IMAGE_OUT_DIR: OUT_DIR,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  out.end();
  if (code !== 0) throw new Error(`the image build failed (exit ${code}):\n${tail(log, 40)}`);
  console.log(tail(log, 1));
}

beforeAll(async () => {
  for (const [tool, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['genisoimage', 'genisoimage'],
    ['mmdebstrap', 'mmdebstrap'],
    ['qemu-img', 'qemu-utils'],
  ])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is missing: apt-get install --no-install-recommends ${pkg}`);
  mkdirSync(TEST_DIR, { recursive: true });
  const started = Date.now();
  await buildImage();
  timings.imageBuild = Date.now() - started;

  ctx = await new WorkerTestContext({ name: 'guest-vm' }).setUp();
  provider = new QemuComputeProvider({
    image: readGuestImage(OUT_DIR),
    dir: TEST_DIR,
    hostPort: testPorts().spare.min,
    memoryMb: 1024,
    onStart: (vm) => {
      vms.push(vm);
      vmStartedAt = Date.now();
    },
  });
  const guestRedis = new URL(REDIS_URL);
  guestRedis.hostname = '10.0.2.2'; // QEMU's user network: this machine's loopback
  await ctx.startWorker({
    provider,
    env: {
      COFFER_GUEST_REDIS_URL: guestRedis.toString(),
      COFFER_GUEST_REDIS_ACL: 'on',
      COFFER_CREATE_TIMEOUT_SECONDS: 600,
      COFFER_HEARTBEAT_INTERVAL_SECONDS: 2,
      COFFER_HEARTBEAT_EXPIRY_SECONDS: 30,
    },
  });
});

afterAll(async () => {
  // QEMU first, whatever happened (setpriv's pdeathsig also kills it with this process)
  for (const vm of vms) await vm.kill();
  await ctx?.close();
  console.log(`guest image VM timings (ms): ${JSON.stringify(timings)}`);
  // kept when the test failed (the serial console, the build's log), or when asked
  if (passed && !process.env.COFFER_TEST_KEEP_VM_DIR)
    rmSync(TEST_DIR, { recursive: true, force: true });
});

describe('the guest image on a real VM', () => {
  it('boots with a real instance config drive, reports RUNNING into PostgreSQL and answers SQL', async () => {
    onTestFailed(() => {
      for (const vm of vms)
        console.log(
          `serial console (${vm.serialLog}), last 120 lines:\n${tail(vm.serialLog, 120)}`,
        );
    });
    const started = Date.now();
    const created = await ctx!.createInstance();

    const row = await waitFor(() => ctx!.row(created.instanceId), {
      timeoutMs: 600_000,
      intervalMs: 500,
      what: 'the instance RUNNING (task NONE) or failed',
      until: (r) =>
        vmExited() ||
        !r ||
        (r.serviceStatus === 'RUNNING' && r.taskStatus === 'NONE') ||
        r.taskStatus.endsWith('ERROR') ||
        r.serviceStatus === 'FAILED',
    });
    expect(vmExited(), `QEMU exited: ${tail(vms[0]?.stderrLog ?? '', 20)}`).toBe(false);
    timings.createToRunning = Date.now() - started;
    timings.vmStartToRunning = Date.now() - vmStartedAt;
    expect(row, `fault: ${row?.faultMessage}`).toMatchObject({
      serviceStatus: 'RUNNING',
      taskStatus: 'NONE',
      host: '127.0.0.1',
      port: testPorts().spare.min,
    });

    // the guest was told 10.0.2.2 and its own Redis user, in the files the config drive carried
    const userData = readFileSync(
      join(TEST_DIR, created.instanceId, 'content', 'openstack', 'latest', 'user_data'),
      'utf8',
    );
    const agentFile = filesOfUserData(userData).find((f) =>
      f.path.endsWith(GUEST_AGENT_CONFIG_FILE),
    );
    expect(agentFile?.permissions).toBe('0600');
    const agent = guestAgentConfigSchema.parse(JSON.parse(agentFile!.content));
    const guestUrl = new URL(agent.redisUrl);
    expect(guestUrl.hostname).toBe('10.0.2.2');
    expect(decodeURIComponent(guestUrl.username)).toBe(`guest-${created.instanceId}`);

    const connection = await mysql.createConnection({
      host: row!.host!,
      port: row!.port!,
      user: created.userName,
      password: created.password,
      database: created.databaseName,
    });
    try {
      const [rows] = await connection.query('SELECT 41 + 1 AS answer, @@hostname AS host');
      expect(rows).toEqual([{ answer: 42, host: 'coffer-guest' }]);
    } finally {
      await connection.end();
    }
    timings.createToSql = Date.now() - started;

    // Cinder extends the volume in use (Nova grows the disk): the guest's filesystem follows
    // online (the image's udev rule), as its heartbeat tells PostgreSQL
    const before = Number((await ctx!.row(created.instanceId))!.volumeTotalBytes);
    expect(before).toBeGreaterThan(0.8 * 2 ** 30);
    expect(before).toBeLessThan(2 ** 30);
    const extended = Date.now();
    expect(await provider.extendVolume(created.instanceId, 2)).toBe('online');
    await waitFor(
      async () => Number((await ctx!.row(created.instanceId))!.volumeTotalBytes) > 1.8 * 2 ** 30,
      { timeoutMs: 120_000, intervalMs: 500, what: 'the volume seen at 2 GB in the heartbeats' },
    );
    timings.extendToSeen = Date.now() - extended;

    // deleted through Coffer: the server (QEMU) goes, and the guest's Redis user with it
    await ctx!.deleteInstance(created.instanceId);
    await waitFor(async () => (await ctx!.row(created.instanceId)) === null, {
      timeoutMs: 120_000,
      what: 'the instance row to be deleted',
    });
    expect(vms[0]!.process.exitCode !== null || vms[0]!.process.signalCode !== null).toBe(true);
    const users = (await ctx!.redis.call('ACL', 'USERS')) as string[];
    expect(users).not.toContain(`guest-${created.instanceId}`);
    passed = true;
  });
});
