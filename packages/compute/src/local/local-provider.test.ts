import { randomBytes, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import {
  GUEST_AGENT_CONFIG_FILE,
  GUEST_INFO_FILE,
  guestAgentConfigSchema,
  guestInfoSchema,
} from '@coffer/contracts';
import { afterAll, describe, expect, it } from 'vitest';

import { cleanUp, FAKE_GUEST, specFor, testBaseDir, testPortRange } from '../../test/fixture';
import { ComputeError } from '../provider';
import { LocalComputeProvider } from './local-provider';
import {
  allocatePort,
  canBindPort,
  DEFAULT_PORT_RANGE,
  overlapWithEphemeralPorts,
} from './port-allocator';
import { findProcesses, readCmdline, waitFor } from '@coffer/host';

const baseDir = testBaseDir();
const PORT_RANGE = testPortRange();

function providerIn(dataDir: string, options: { leaveServer?: boolean; command?: string } = {}) {
  return new LocalComputeProvider({
    dataDir,
    guestCommand: {
      command: options.command ?? process.execPath,
      args: [FAKE_GUEST],
      env: options.leaveServer ? { FAKE_GUEST_LEAVE_SERVER: '1' } : {},
    },
    portRange: PORT_RANGE,
    stopTimeoutMs: 2000,
  });
}

const providers: LocalComputeProvider[] = [];
function newProvider(options: { leaveServer?: boolean; command?: string; dataDir?: string } = {}) {
  const provider = providerIn(
    options.dataDir ?? join(baseDir, randomBytes(3).toString('hex')),
    options,
  );
  providers.push(provider);
  return provider;
}

afterAll(() => cleanUp(providers, baseDir));

describe('LocalComputeProvider', () => {
  it('creates a server: injected files, a volume, a detached guest that inherits no secrets', async () => {
    process.env.COFFER_MASTER_KEY_FOR_LEAK_TEST = 'must-not-reach-the-guest';
    const provider = newProvider();
    const spec = specFor();
    const info = await provider.createServer(spec);
    expect(info).toMatchObject({
      serverId: spec.instanceId,
      instanceId: spec.instanceId,
      host: '127.0.0.1',
      status: 'ACTIVE',
    });
    expect(info.port).toBeGreaterThanOrEqual(PORT_RANGE.min);

    const root = provider.instanceDir(spec.instanceId);
    for (const dir of ['etc', 'data', 'log', 'run'])
      expect(statSync(join(root, dir)).isDirectory()).toBe(true);
    expect(statSync(join(root, 'etc')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'etc', GUEST_AGENT_CONFIG_FILE)).mode & 0o777).toBe(0o600);
    expect(
      guestInfoSchema.parse(JSON.parse(readFileSync(join(root, 'etc', GUEST_INFO_FILE), 'utf8'))),
    ).toEqual(spec.guestInfo);
    const agent = guestAgentConfigSchema.parse(
      JSON.parse(readFileSync(join(root, 'etc', GUEST_AGENT_CONFIG_FILE), 'utf8')),
    );
    expect(agent).toMatchObject({
      ...spec.agentConfig,
      datastore: {
        port: info.port,
        bindAddress: '127.0.0.1',
        volumeDir: join(root, 'data'),
        logDir: join(root, 'log'),
      },
    });

    const pid = provider.guestPid(spec.instanceId)!;
    expect(readCmdline(pid)).toEqual([
      process.execPath,
      FAKE_GUEST,
      '--config-dir',
      join(root, 'etc'),
    ]);
    // Its own session (detached), and none of the worker's environment.
    const sessionId = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3];
    expect(Number(sessionId)).toBe(pid);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).not.toContain('COFFER_MASTER_KEY_FOR_LEAK_TEST');
    // PATH and where the guests of this data dir keep datastore templates: nothing else.
    expect(
      environ
        .split('\0')
        .filter(Boolean)
        .map((entry) => entry.split('=')[0])
        .sort(),
    ).toEqual(['COFFER_GUEST_TEMPLATE_DIR', 'PATH']);
    const templates = resolve(provider.instanceDir(spec.instanceId), '..', '..', 'templates');
    expect(environ).toContain(`COFFER_GUEST_TEMPLATE_DIR=${templates}\0`);
    delete process.env.COFFER_MASTER_KEY_FOR_LEAK_TEST;
  });

  it('returns the same server for a retried create, and restarts its guest when it is gone', async () => {
    const provider = newProvider();
    const spec = specFor();
    const first = await provider.createServer(spec);
    const pid = provider.guestPid(spec.instanceId)!;
    expect(await provider.createServer(spec)).toEqual(first);
    expect(provider.guestPid(spec.instanceId)).toBe(pid);

    process.kill(pid, 'SIGKILL');
    expect(
      await waitFor(async () => (await provider.getServer(spec.instanceId))?.status === 'SHUTOFF', {
        timeoutMs: 5000,
      }),
    ).toBe(true);
    expect(await provider.createServer(spec)).toEqual(first);
    expect(provider.guestPid(spec.instanceId)).not.toBe(pid);
    expect(provider.guestPid(spec.instanceId)).not.toBeNull();
  });

  it('adopts a guest whose pid file was lost instead of starting a second one', async () => {
    const provider = newProvider();
    const spec = specFor();
    const first = await provider.createServer(spec);
    const root = provider.instanceDir(spec.instanceId);
    const isGuest = (args: string[]) => args.includes(join(root, 'etc'));
    const [pid] = findProcesses(isGuest);
    // As if the worker died between spawning the guest and recording it.
    rmSync(join(root, 'run', 'guest.pid'));
    expect(await provider.createServer(spec)).toEqual(first);
    expect(findProcesses(isGuest)).toEqual([pid]);
    expect(readFileSync(join(root, 'run', 'guest.pid'), 'utf8').trim()).toBe(String(pid));

    rmSync(join(root, 'run', 'guest.pid'));
    await provider.rebootServer(spec.instanceId);
    const afterReboot = findProcesses(isGuest);
    expect(afterReboot).toHaveLength(1);
    expect(afterReboot[0]).not.toBe(pid);
  });

  it('gives each server its own port, and refuses a taken one', async () => {
    const provider = newProvider();
    const a = await provider.createServer(specFor());
    const b = await provider.createServer(specFor());
    const [c, d] = await Promise.all([
      provider.createServer(specFor()),
      provider.createServer(specFor()),
    ]);
    expect(new Set([a.port, b.port, c!.port, d!.port]).size).toBe(4);
    await expect(provider.createServer({ ...specFor(), port: a.port })).rejects.toMatchObject({
      name: 'ComputeError',
      code: 'PORT_TAKEN',
    });
    // A second provider on the same data dir (another worker) sees the same claims.
    const other = newProvider({ dataDir: resolve(provider.instanceDir(a.instanceId), '..', '..') });
    const e = await other.createServer(specFor());
    expect([a.port, b.port, c!.port, d!.port]).not.toContain(e.port);
  });

  it('gets, lists and reboots servers', async () => {
    const provider = newProvider();
    expect(await provider.getServer(randomUUID())).toBeNull();
    expect(await provider.getServer('../../etc')).toBeNull();
    const a = await provider.createServer(specFor());
    const b = await provider.createServer(specFor());
    expect((await provider.listServers()).map((server) => server.serverId).sort()).toEqual(
      [a.serverId, b.serverId].sort(),
    );

    const before = provider.guestPid(a.instanceId);
    await provider.rebootServer(a.serverId);
    const after = provider.guestPid(a.instanceId);
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
    expect(await provider.getServer(a.serverId)).toEqual(a);
    await expect(provider.rebootServer(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(provider.rebootServer('not-an-id')).rejects.toMatchObject({ code: 'INVALID' });
  });

  it('deletes everything, even a server process that ignores SIGTERM, and can delete twice', async () => {
    const provider = newProvider({ leaveServer: true });
    const spec = specFor();
    const info = await provider.createServer(spec);
    const root = provider.instanceDir(spec.instanceId);
    const namesInstance = (args: string[]) => args.some((arg) => arg.includes(`${root}/`));
    expect(
      await waitFor(() => findProcesses(namesInstance).length === 2, { timeoutMs: 5000 }),
    ).toBe(true);

    await provider.deleteServer(info.serverId);
    expect(findProcesses(namesInstance)).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(await provider.getServer(info.serverId)).toBeNull();
    await provider.deleteServer(info.serverId);
    // Its port is free for the next server.
    const portsDir = resolve(root, '..', '..', 'ports');
    expect(readdirSync(portsDir)).not.toContain(String(info.port));
  });

  it('moves the run dir to a short path when a socket would not fit under the instance dir', async () => {
    const deep = join(
      baseDir,
      'a-rather-long-directory-name-to-push-the-socket-path-over-the-limit',
      'x'.repeat(40),
    );
    mkdirSync(deep, { recursive: true });
    const provider = newProvider({ dataDir: deep });
    const spec = specFor();
    await provider.createServer(spec);
    const root = provider.instanceDir(spec.instanceId);
    const agent = guestAgentConfigSchema.parse(
      JSON.parse(readFileSync(join(root, 'etc', GUEST_AGENT_CONFIG_FILE), 'utf8')),
    );
    expect(agent.datastore.runDir.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(join(agent.datastore.runDir, 'mysqld.sock'))).toBeLessThanOrEqual(107);
    expect(existsSync(agent.datastore.runDir)).toBe(true);
    await provider.deleteServer(spec.instanceId);
    expect(existsSync(agent.datastore.runDir)).toBe(false);
  });

  it('refuses specs it cannot honour, and says when the guest cannot be started', async () => {
    const provider = newProvider();
    await expect(provider.createServer({ ...specFor(), instanceId: '../escape' })).rejects.toThrow(
      ComputeError,
    );
    const spec = specFor();
    await expect(
      provider.createServer({
        ...spec,
        guestInfo: { ...spec.guestInfo, instanceId: randomUUID() },
      }),
    ).rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/does not match/) });
    await expect(
      provider.createServer({ ...specFor(), flavor: { vcpus: 0, ramMb: 512 } }),
    ).rejects.toMatchObject({ code: 'INVALID' });
    await expect(
      provider.createServer({
        ...specFor(),
        agentConfig: { ...spec.agentConfig, guestSecret: '' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID' });
    const broken = newProvider({ command: '/nonexistent/node' });
    await expect(broken.createServer(specFor())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/could not start the guest/),
    });
  });
});

describe('LocalComputeProvider.ensureServerRunning', () => {
  function supervisedProvider(dataDir: string, maxRestarts: number) {
    const provider = new LocalComputeProvider({
      dataDir,
      guestCommand: { command: process.execPath, args: [FAKE_GUEST] },
      portRange: PORT_RANGE,
      stopTimeoutMs: 2000,
      // A long backoff, so "waiting" does not depend on this machine's speed.
      guestRestart: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxRestarts, windowMs: 600_000 },
    });
    providers.push(provider);
    return provider;
  }

  async function killGuest(provider: LocalComputeProvider, instanceId: string): Promise<number> {
    const pid = provider.guestPid(instanceId)!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => provider.guestPid(instanceId) === null, { timeoutMs: 5000 });
    return pid;
  }

  it('starts one guest when several workers find it dead at once', async () => {
    const dataDir = join(baseDir, randomBytes(3).toString('hex'));
    // Providers of their own on one data dir: their in-process locks know nothing of each other.
    const workers = [1, 2, 3].map(() => supervisedProvider(dataDir, 5));
    const spec = specFor();
    await workers[0]!.createServer(spec);
    const root = workers[0]!.instanceDir(spec.instanceId);
    const isGuest = (args: string[]) => args.includes(join(root, 'etc'));
    await killGuest(workers[0]!, spec.instanceId);

    // The watchdog of each, and a retried create, all at the same moment.
    const [outcomes] = await Promise.all([
      Promise.all(workers.map((worker) => worker.ensureServerRunning(spec.instanceId))),
      workers[1]!.createServer(spec),
    ]);
    expect(outcomes.map((outcome) => outcome.state)).toContain('restarted');
    const guests = findProcesses(isGuest);
    expect(guests).toHaveLength(1);
    expect(workers[2]!.guestPid(spec.instanceId)).toBe(guests[0]);
    // The lock is gone with the start.
    expect(
      readdirSync(join(root, 'run')).filter((name) => name.startsWith('guest.starting')),
    ).toEqual([]);
  });

  it('starts a dead guest again, then waits out the backoff, also after a worker restart; then gives up once', async () => {
    const dataDir = join(baseDir, randomBytes(3).toString('hex'));
    const provider = supervisedProvider(dataDir, 2);
    const spec = specFor();
    await provider.createServer(spec);
    expect(await provider.ensureServerRunning(spec.instanceId)).toEqual({ state: 'running' });

    const first = await killGuest(provider, spec.instanceId);
    expect(await provider.ensureServerRunning(spec.instanceId)).toEqual({
      state: 'restarted',
      restarts: 1,
    });
    const second = provider.guestPid(spec.instanceId);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);

    await killGuest(provider, spec.instanceId);
    // A new provider on the same dir (a restarted worker) knows the last restart: it waits.
    const afterWorkerRestart = supervisedProvider(dataDir, 2);
    const waiting = await afterWorkerRestart.ensureServerRunning(spec.instanceId);
    expect(waiting.state).toBe('waiting');
    expect(provider.guestPid(spec.instanceId)).toBeNull();

    // The window's restarts used up: it gives up, says so once, and starts nothing.
    const strict = supervisedProvider(dataDir, 1);
    expect(await strict.ensureServerRunning(spec.instanceId)).toEqual({
      state: 'given-up',
      restarts: 1,
      isNew: true,
    });
    expect(await strict.ensureServerRunning(spec.instanceId)).toEqual({
      state: 'given-up',
      restarts: 1,
      isNew: false,
    });
    expect(strict.guestPid(spec.instanceId)).toBeNull();

    // A reboot is deliberate: a guest again, and a fresh budget.
    await strict.rebootServer(spec.instanceId);
    expect(strict.guestPid(spec.instanceId)).not.toBeNull();
    await killGuest(strict, spec.instanceId);
    expect(await strict.ensureServerRunning(spec.instanceId)).toEqual({
      state: 'restarted',
      restarts: 1,
    });
  });

  it('never starts the guest of a server being deleted, or of none', async () => {
    const provider = supervisedProvider(join(baseDir, randomBytes(3).toString('hex')), 5);
    const spec = specFor();
    await provider.createServer(spec);
    await killGuest(provider, spec.instanceId);
    // What deleteServer writes first (another worker may be deleting it right now).
    writeFileSync(join(provider.instanceDir(spec.instanceId), 'deleting'), 'now\n');
    expect(await provider.ensureServerRunning(spec.instanceId)).toEqual({ state: 'missing' });
    expect(provider.guestPid(spec.instanceId)).toBeNull();
    await provider.deleteServer(spec.instanceId);
    expect(await provider.ensureServerRunning(spec.instanceId)).toEqual({ state: 'missing' });
    expect(await provider.ensureServerRunning('not-an-id')).toEqual({ state: 'missing' });
  });
});

describe('allocatePort', () => {
  let listener: Server | null = null;
  afterAll(() => listener?.close());

  it('skips taken ports and ports someone listens on', async () => {
    const min = PORT_RANGE.min;
    listener = createServer();
    await new Promise<void>((done) => listener!.listen(min + 1, '127.0.0.1', done));
    expect(await canBindPort(min + 1)).toBe(false);
    expect(await allocatePort({ taken: new Set([min]), range: { min, max: min + 5 } })).toBe(
      min + 2,
    );
  });

  it('never hands out 33060 and fails when the range is used up', async () => {
    expect(await allocatePort({ taken: new Set(), range: { min: 33060, max: 33061 } })).toBe(33061);
    await expect(
      allocatePort({ taken: new Set([40000]), range: { min: 40000, max: 40000 } }),
    ).rejects.toMatchObject({ code: 'QUOTA', message: expect.stringMatching(/no free port/) });
    await expect(
      allocatePort({ taken: new Set(), range: { min: 5, max: 4 } }),
    ).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/invalid port range/),
    });
  });

  it('tells when a range reaches into the ephemeral ports, and the default does not', () => {
    const file = join(baseDir, 'ip_local_port_range');
    mkdirSync(baseDir, { recursive: true });
    writeFileSync(file, '32768\t60999\n');
    expect(overlapWithEphemeralPorts(DEFAULT_PORT_RANGE, file)).toBeNull();
    expect(overlapWithEphemeralPorts({ min: 32000, max: 33000 }, file)).toEqual({
      min: 32768,
      max: 33000,
    });
    expect(overlapWithEphemeralPorts({ min: 61000, max: 62000 }, file)).toBeNull();
    expect(overlapWithEphemeralPorts({ min: 1, max: 2 }, join(baseDir, 'missing'))).toBeNull();
    // This machine's own range, where it has one.
    expect(overlapWithEphemeralPorts(DEFAULT_PORT_RANGE)).toBeNull();
  });
});
