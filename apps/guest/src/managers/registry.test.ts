import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import {
  GUEST_AGENT_CONFIG_FILE,
  GUEST_INFO_FILE,
  guestAgentConfigSchema,
  guestQueueName,
  type GuestInfo,
  type GuestResult,
  type ServiceStatus,
} from '@coffer/contracts';
import { generateGuestSecret, guestKeys } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { ConductorReader, REDIS_URL } from '../../test/harness';
import { GuestAgent } from '../agent';
import { beginEarlyInstall } from '../boot/early-install';
import { type GuestConfig } from '../config';
import { parseGuestEnv } from '../env';
import { GUEST_BUNDLE_PATH, guestLaunchCommand } from '../launch';
import { type DatastoreManager, type ManagerContext } from './datastore-manager';
import { mariadbDatastore } from './mariadb/datastore';
import { datastoreManagers, type EarlyBootInput, UnknownDatastoreError } from './registry';

/**
 * The manager seam: a datastore registers its manager's factory and its early boot hook under
 * its name, and the guest runs whichever one guest_info names. "echo" exists in this file
 * only; it needs no server, so the agent runs in this process against the test Redis.
 */

const echoManagers: EchoManager[] = [];
/** What echo's early boot hook was given, call by call. */
const echoEarlyBoots: EarlyBootInput[] = [];

/** A datastore that "runs" once prepared and answers with what it was made from. */
class EchoManager implements DatastoreManager {
  status: ServiceStatus = 'NEW';
  readonly calls: string[] = [];

  constructor(readonly context: ManagerContext) {
    echoManagers.push(this);
  }

  async boot(): Promise<void> {
    this.calls.push('boot');
  }
  async prepare(): Promise<GuestResult<'prepare'>> {
    this.status = 'RUNNING';
    this.context.events.onStatusChange();
    return { serverVersion: `echo ${this.context.info.datastoreVersion}` };
  }
  async getStatus(): Promise<GuestResult<'get_status'>> {
    return { serviceStatus: this.status, serverVersion: null };
  }
  async listDatabases(): Promise<GuestResult<'list_databases'>> {
    const name = `echo_${this.context.info.datastoreVersion.replace('.', '_')}`;
    return { databases: [{ name, characterSet: 'utf8mb4', collation: 'utf8mb4_bin' }] };
  }
  async readReplicationForHeartbeat(): Promise<undefined> {
    return undefined;
  }
  interruptLongOperations(): void {
    this.calls.push('interruptLongOperations');
  }
  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
  }
  shutdownStatus(): ServiceStatus {
    return 'SHUTDOWN';
  }
  // Everything else the interface asks for, which echo does not do.
  restart = unsupported;
  stopDb = unsupported;
  createDatabase = unsupported;
  deleteDatabase = unsupported;
  listUsers = unsupported;
  createUser = unsupported;
  updateUser = unsupported;
  deleteUser = unsupported;
  listAccess = unsupported;
  grantAccess = unsupported;
  revokeAccess = unsupported;
  enableRoot = unsupported;
  disableRoot = unsupported;
  getReplicationStatus = unsupported;
  createReplicationUser = unsupported;
  dropReplicationUser = unsupported;
  attachReplica = unsupported;
  setReadOnly = unsupported;
  waitForGtid = unsupported;
  stopReplication = unsupported;
  createBackup = unsupported;
  applyFlavor = unsupported;
  volumeUsage = unsupported;
  applyConfiguration = unsupported;
  getConfiguration = unsupported;
  listLogs = unsupported;
  setLog = unsupported;
  showLog = unsupported;
  downloadLog = unsupported;
  publishLog = unsupported;
}

function unsupported(): Promise<never> {
  return Promise.reject(new Error('echo does not do that'));
}

// The one registration line a new datastore adds (registry.ts holds mariadb's): its manager
// and its early boot hook.
datastoreManagers.register('echo', {
  loadManager: async () => (context) => new EchoManager(context),
  earlyBoot: (input) => {
    echoEarlyBoots.push(input);
    return Promise.resolve();
  },
});

const root = join(process.env.COFFER_TEST_DATA_DIR ?? tmpdir(), `registry-${randomUUID()}`);
/**
 * The server's run directory, short whatever the data dir: the agent config's check of the
 * socket path length comes before the datastore's name (a fresh clone's deep test dir
 * exceeded the 107 bytes a socket path may have).
 */
const runDir = mkdtempSync(join(tmpdir(), 'coffer-reg-'));

function guestConfig(
  datastoreManager: string,
  serverRunDir: string = runDir,
  preinstall?: { memoryMb: number; vcpus: number },
) {
  const instanceId = randomUUID();
  const guestSecret = generateGuestSecret();
  const configDir = join(root, instanceId);
  mkdirSync(configDir, { recursive: true });
  const config: GuestConfig = {
    configDir,
    info: {
      instanceId,
      projectId: randomUUID(),
      // A name the contracts' schema does not know: the registry alone decides what runs.
      datastoreManager: datastoreManager as GuestInfo['datastoreManager'],
      datastoreVersion: '1.0',
    },
    agent: guestAgentConfigSchema.parse({
      redisUrl: REDIS_URL,
      rpcQueue: guestQueueName(instanceId),
      conductorStream: `conductor-test-${instanceId}`,
      guestSecret,
      heartbeatIntervalSeconds: 0.2,
      datastore: { port: 1, volumeDir: configDir, logDir: configDir, runDir: serverRunDir },
      preinstall,
    }),
    warnings: [],
  };
  return config;
}

describe('the datastore manager registry', () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const logger = pino({ level: 'silent' });

  afterAll(async () => {
    redis.disconnect();
    rmSync(root, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('runs the manager guest_info names: a datastore registered in this test', async () => {
    const config = guestConfig('echo', runDir, { memoryMb: 512, vcpus: 1 });
    const { instanceId, datastoreVersion } = config.info;
    writeConfigFiles(config);

    // At boot, before the agent loads: echo's early hook runs, MariaDB's does not.
    const mariadbEarlyBoot = vi.spyOn(mariadbDatastore, 'earlyBoot');
    let earlyInstall: Promise<void> | null;
    try {
      earlyInstall = beginEarlyInstall(config.configDir);
      expect(mariadbEarlyBoot).not.toHaveBeenCalled();
    } finally {
      mariadbEarlyBoot.mockRestore();
    }
    expect(earlyInstall).toBeInstanceOf(Promise);
    expect(echoEarlyBoots).toHaveLength(1);
    expect(echoEarlyBoots[0]).toMatchObject({
      configDir: config.configDir,
      instanceId,
      preinstall: { memoryMb: 512, vcpus: 1 },
      datastore: { port: 1, volumeDir: config.configDir },
    });

    const agent = await GuestAgent.create(config, parseGuestEnv({}), logger, earlyInstall);
    const client = new GuestClient({
      connection: redis,
      instanceId,
      guestSecret: config.agent.guestSecret,
    });
    const reader = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const conductor = new ConductorReader(
      reader,
      config.agent.conductorStream,
      instanceId,
      guestKeys(config.agent.guestSecret).signing,
    );
    try {
      await agent.start();
      const echo = echoManagers.at(-1)!;
      expect(echo.context.info.instanceId).toBe(instanceId);
      // The manager gets what its hook started.
      expect(echo.context.earlyInstall).toBe(earlyInstall);
      expect(echo.calls).toEqual(['boot']);

      // RPC methods reach echo: its answers, not mariadb's.
      expect(await client.call('get_status', {}, { timeoutMs: 10_000 })).toEqual({
        serviceStatus: 'NEW',
        serverVersion: null,
      });
      expect(
        await client.call('prepare', { memoryMb: 512, vcpus: 1, databases: [], users: [] }),
      ).toEqual({ serverVersion: `echo ${datastoreVersion}` });
      expect(await client.call('list_databases', {}, { timeoutMs: 10_000 })).toEqual({
        databases: [{ name: 'echo_1_0', characterSet: 'utf8mb4', collation: 'utf8mb4_bin' }],
      });
      await expect(client.call('list_users', {}, { timeoutMs: 10_000 })).rejects.toThrow(
        /echo does not do that/,
      );
      // The heartbeat reads echo's status.
      await conductor.waitFor(
        (message) => message.kind === 'heartbeat' && message.payload.serviceStatus === 'RUNNING',
        10_000,
        "a heartbeat with echo's RUNNING",
      );

      await agent.shutdown();
      expect(echo.calls).toEqual(['boot', 'interruptLongOperations', 'shutdown']);
      await conductor.waitFor(
        (message) => message.kind === 'heartbeat' && message.payload.serviceStatus === 'SHUTDOWN',
        10_000,
        'the last heartbeat',
      );
    } finally {
      await agent.shutdown();
      await client.close();
      reader.disconnect();
    }
  });

  it("runs MariaDB's early boot hook, not echo's, for a mariadb config", () => {
    const config = guestConfig('mariadb', runDir, { memoryMb: 512, vcpus: 1 });
    writeConfigFiles(config);
    const echoBootsBefore = echoEarlyBoots.length;
    // Stands in for MariaDB's early install (which would start mariadb-install-db).
    const mariadbEarlyBoot = vi.spyOn(mariadbDatastore, 'earlyBoot').mockReturnValue(null);
    try {
      expect(beginEarlyInstall(config.configDir)).toBeNull();
      expect(mariadbEarlyBoot).toHaveBeenCalledOnce();
      expect(mariadbEarlyBoot.mock.calls[0]![0].instanceId).toBe(config.info.instanceId);
    } finally {
      mariadbEarlyBoot.mockRestore();
    }
    expect(echoEarlyBoots.length).toBe(echoBootsBefore);
  });

  it('refuses to start for a datastore it has no manager for, naming the ones it has', async () => {
    const config = guestConfig('nosuchdb', runDir, { memoryMb: 512, vcpus: 1 });
    writeConfigFiles(config);
    const managersBefore = echoManagers.length;
    const echoBootsBefore = echoEarlyBoots.length;
    // No early boot either.
    expect(beginEarlyInstall(config.configDir)).toBeNull();
    const start = () => GuestAgent.create(config, parseGuestEnv({}), logger);
    await expect(start()).rejects.toThrow(UnknownDatastoreError);
    await expect(start()).rejects.toThrow(
      '"nosuchdb" named by guest_info (it runs: mariadb, echo)',
    );
    expect(echoManagers.length).toBe(managersBefore);
    expect(echoEarlyBoots.length).toBe(echoBootsBefore);
  });

  /** Writes the injected files of this config into its config dir. */
  function writeConfigFiles({ configDir, info, agent }: ReturnType<typeof guestConfig>) {
    writeFileSync(join(configDir, GUEST_INFO_FILE), JSON.stringify(info));
    writeFileSync(join(configDir, GUEST_AGENT_CONFIG_FILE), JSON.stringify(agent), {
      mode: 0o600,
    });
  }

  it('keeps the managers out of what the bundle evaluates first: only registrations and early hooks', () => {
    // dist/guest.mjs is the loader (loader.ts): no guest code, it names the agent bundle.
    const loader = readFileSync(GUEST_BUNDLE_PATH, 'utf8');
    expect(loader).not.toContain('mariadbEarlyInstall');
    expect(loader).not.toContain('GuestAgent');
    const [, agentFile] = /"(\.\/chunks\/agent-[A-Z0-9]+\.cjs)"/.exec(loader) ?? [];
    expect(agentFile).toBeDefined();
    // The agent bundle (agent-bundle.ts, CommonJS): a module esbuild wraps in __esm is
    // evaluated when its init_… is first called. The agent (run-guest.ts and what it imports)
    // and MariaDB's manager are called only through a dynamic import, after the early hook.
    const agent = readFileSync(join(dirname(GUEST_BUNDLE_PATH), agentFile!), 'utf8');
    expect(agent.includes('mariadbEarlyInstall=(')).toBe(true);
    for (const module of ['run_guest', 'mariadb_manager', 'agent']) {
      expect(new RegExp(`init_${module}=__esm\\(`).test(agent)).toBe(true);
    }
    for (const module of ['run_guest', 'mariadb_manager']) {
      const calls = [...agent.matchAll(new RegExp(`.{0,28}init_${module}\\(\\)`, 'g'))].map(
        ([call]) => call,
      );
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call).toMatch(/Promise\.resolve\(\)\.then\(\(\)=>\(init_/);
    }
  });

  /** Runs the bundled guest on this config: its exit status and what it wrote to stderr. */
  function runBundledGuest(config: ReturnType<typeof guestConfig>, env?: NodeJS.ProcessEnv) {
    writeConfigFiles(config);
    const { command, args } = guestLaunchCommand();
    return spawnSync(command, [...args, '--config-dir', config.configDir], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  it("makes the bundled guest exit with the reason, for a config the datastore's manager refuses", () => {
    // MariaDB's server socket under this run dir would not fit a unix socket path.
    const run = runBundledGuest(guestConfig('mariadb', `/tmp/${'d'.repeat(100)}`));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^coffer-guest: refusing to start: the server socket path \/tmp\/d+\/mysqld\.sock is longer than 107 bytes/,
    );
  });

  it('makes the bundled guest exit with the reason, for a MariaDB setting the manager refuses', () => {
    // MariaDB's own variable, parsed by its folder (managers/mariadb/env.ts): set but empty.
    const run = runBundledGuest(guestConfig('mariadb'), { COFFER_GUEST_MARIADB_BIN_DIR: '' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^coffer-guest: refusing to start: invalid environment: COFFER_GUEST_MARIADB_BIN_DIR is empty/,
    );
  });

  it('makes the bundled guest exit with the reason, for a name no manager has', () => {
    // Under a run dir MariaDB's socket would not fit: the name is what is refused, as the
    // socket is MariaDB's concern and no MariaDB runs here.
    const run = runBundledGuest(guestConfig('nosuchdb', `/tmp/${'d'.repeat(100)}`));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'coffer-guest: refusing to start: this guest has no manager for the datastore "nosuchdb"',
    );
  });
});
