import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { LocalComputeProvider, type ServerInfo } from '@coffer/compute';
import {
  conductorMessageSchema,
  GUEST_AGENT_CONFIG_FILE,
  guestAgentConfigSchema,
  guestQueueName,
  type ConductorMessage,
} from '@coffer/contracts';
import { generateGuestSecret, guestKeys, isValidSignature } from '@coffer/contracts/crypto';
import { GuestClient } from '@coffer/guest-client';
import { captureLogsEnv } from '@coffer/testing/log-capture';
import { testPorts } from '@coffer/testing/ports';
import { registerSecret } from '@coffer/testing/secrets';
import { Redis } from 'ioredis';
import mysql, { type Connection } from 'mysql2/promise';

import { guestLaunchCommand } from '../src/launch';

/**
 * Real guests for the integration tests: the local provider runs the bundled guest, which
 * runs a real mariadbd; the tests talk to it as the taskmanager and the conductor would.
 */

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A heartbeat that says one of `statuses`. */
export const isStatus =
  (...statuses: string[]) =>
  (message: ConductorMessage): boolean =>
    message.kind === 'heartbeat' && statuses.includes(message.payload.serviceStatus);
const TEST_DATA_DIR = process.env.COFFER_TEST_DATA_DIR ?? join(tmpdir(), 'coffer-test-instances');

export interface ReceivedMessage {
  id: string;
  message: ConductorMessage;
}

export interface TestInstance {
  instanceId: string;
  projectId: string;
  guestSecret: string;
  stream: string;
  server: ServerInfo;
  client: GuestClient;
  /** Reads the conductor stream as the conductor would (verifying every entry). */
  conductor: ConductorReader;
}

export class ConductorReader {
  private lastId = '0';
  readonly received: ReceivedMessage[] = [];

  constructor(
    private readonly redis: Redis,
    readonly stream: string,
    private readonly instanceId: string,
    private readonly signingKey: Buffer,
  ) {}

  /** Reads until a verified message passes `predicate`; throws after the deadline. */
  async waitFor(
    predicate: (message: ConductorMessage) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ConductorMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const seen = this.received
          .slice(-5)
          .map(({ message }) =>
            message.kind === 'heartbeat' ? message.payload.serviceStatus : message.kind,
          );
        throw new Error(`timed out waiting for ${what}; last messages: ${seen.join(', ')}`);
      }
      for (const message of await this.read(Math.min(remaining, 1000))) {
        if (predicate(message)) return message;
      }
    }
  }

  /** Verified messages that arrive within `blockMs` (at most one XREAD). */
  async read(blockMs: number): Promise<ConductorMessage[]> {
    const result = await this.redis.xread(
      'COUNT',
      100,
      'BLOCK',
      Math.max(1, Math.floor(blockMs)),
      'STREAMS',
      this.stream,
      this.lastId,
    );
    const messages: ConductorMessage[] = [];
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        this.lastId = id;
        const values = new Map<string, string>();
        for (let index = 0; index + 1 < fields.length; index += 2)
          values.set(fields[index]!, fields[index + 1]!);
        const body = values.get('body') ?? '';
        if (!isValidSignature(this.signingKey, body, values.get('sig') ?? ''))
          throw new Error(`entry ${id} has a bad signature`);
        const message = conductorMessageSchema.parse(JSON.parse(body));
        if (message.instanceId !== this.instanceId)
          throw new Error(`entry ${id} speaks for another instance`);
        this.received.push({ id, message });
        messages.push(message);
      }
    }
    return messages;
  }

  /** True when nothing at all arrives for `quietMs`. */
  async isSilentFor(quietMs: number): Promise<boolean> {
    const deadline = Date.now() + quietMs;
    while (Date.now() < deadline) {
      if ((await this.read(deadline - Date.now())).length > 0) return false;
    }
    return true;
  }
}

/** The files of one instance, from the agent config the provider wrote. */
export function instanceFiles(provider: LocalComputeProvider, instanceId: string) {
  const root = provider.instanceDir(instanceId);
  const agent = guestAgentConfigSchema.parse(
    JSON.parse(readFileSync(join(root, 'etc', GUEST_AGENT_CONFIG_FILE), 'utf8')),
  );
  return {
    root,
    volumeDir: agent.datastore.volumeDir,
    runDir: agent.datastore.runDir,
    socket: join(agent.datastore.runDir, 'mysqld.sock'),
    serverPidFile: join(agent.datastore.runDir, 'mysqld.pid'),
    errorLog: join(agent.datastore.logDir, 'mariadb.err'),
    guestLog: join(root, 'log', 'guest.log'),
  };
}

export function connectTcp(
  port: number,
  user: string,
  password?: string,
  database?: string,
): Promise<Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    connectTimeout: 5000,
  });
}

/** As OS root over the instance's socket (root@localhost is unix_socket only): how the tests look behind the guest's back. */
export function connectAsRoot(socket: string): Promise<Connection> {
  return mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 5000 });
}

/** Every test server: the smallest flavor, a 1 GB volume, MariaDB 10.11. */
function serverOf(instanceId: string, projectId: string) {
  return {
    instanceId,
    projectId,
    flavor: { vcpus: 1, ramMb: 512 },
    volumeGb: 1,
    guestInfo: {
      instanceId,
      projectId,
      datastoreManager: 'mariadb',
      datastoreVersion: '10.11',
    },
  };
}

export class GuestHarness {
  readonly dataDir: string;
  readonly provider: LocalComputeProvider;
  readonly redis: Redis;
  private readonly readers: Redis[] = [];
  private readonly instances: TestInstance[] = [];

  constructor(
    readonly heartbeatIntervalSeconds = 0.5,
    /** The ports its servers get: by default the test file's own (@coffer/testing/ports). */
    portRange: { min: number; max: number } = testPorts().instances,
  ) {
    this.dataDir = join(TEST_DATA_DIR, `guest-it-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.dataDir, { recursive: true });
    this.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    this.provider = new LocalComputeProvider({
      dataDir: this.dataDir,
      // A test run's COFFER_TEST_LOG_DIR reaches the guests (their logs are scanned for secrets).
      guestCommand: guestLaunchCommand({ env: captureLogsEnv() }),
      stopTimeoutMs: 30_000,
      portRange,
    });
  }

  /** `preinstall`: say in the agent config what the server will be sized for (the early install). */
  async createInstance(
    options: { preinstall?: { memoryMb: number; vcpus: number } } = {},
  ): Promise<TestInstance> {
    const instanceId = randomUUID();
    const projectId = randomUUID();
    const guestSecret = generateGuestSecret();
    registerSecret(`the guest secret of ${instanceId}`, guestSecret);
    const stream = `conductor-test-${instanceId}`;
    const server = await this.provider.createServer({
      ...serverOf(instanceId, projectId),
      agentConfig: {
        redisUrl: REDIS_URL,
        rpcQueue: guestQueueName(instanceId),
        conductorStream: stream,
        guestSecret,
        heartbeatIntervalSeconds: this.heartbeatIntervalSeconds,
        logLevel: 'debug',
        ...(options.preinstall ? { preinstall: options.preinstall } : {}),
      },
    });
    const reader = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    this.readers.push(reader);
    const instance: TestInstance = {
      instanceId,
      projectId,
      guestSecret,
      stream,
      server,
      client: new GuestClient({ connection: this.redis, instanceId, guestSecret }),
      conductor: new ConductorReader(reader, stream, instanceId, guestKeys(guestSecret).signing),
    };
    this.instances.push(instance);
    return instance;
  }

  /**
   * The taskmanager's create retried for an existing instance: the provider finds its server
   * and starts its guest again if it is down (the injected files are kept: the agent config
   * given here is not used).
   */
  recreateServer(instance: TestInstance): Promise<ServerInfo> {
    return this.provider.createServer({
      ...serverOf(instance.instanceId, instance.projectId),
      agentConfig: {
        redisUrl: 'unused',
        rpcQueue: 'unused',
        conductorStream: 'unused',
        guestSecret: 'unused-unused-unused-unused-unused',
      },
    });
  }

  /** A prepare with one database `app` and one user `app_user` on it; returns the user's password. */
  async prepareApp(instance: TestInstance, extra: { databases?: string[] } = {}): Promise<string> {
    const password = `pw${randomBytes(12).toString('hex')}9`;
    registerSecret('the password of app_user', password);
    await instance.client.cast('prepare', {
      memoryMb: 512,
      vcpus: 1,
      databases: [{ name: 'app' }, ...(extra.databases ?? []).map((name) => ({ name }))],
      users: [
        {
          name: 'app_user',
          host: '%',
          password: instance.client.sealUserPassword('app_user', password),
          databases: ['app'],
        },
      ],
    });
    return password;
  }

  async close(): Promise<void> {
    for (const instance of this.instances) {
      await this.provider.deleteServer(instance.instanceId).catch(() => undefined);
      await instance.client.close().catch(() => undefined);
      const keys = await this.redis.keys(`bull:${guestQueueName(instance.instanceId)}:*`);
      await this.redis.del(instance.stream, ...keys).catch(() => undefined);
    }
    await this.redis.quit();
    for (const reader of this.readers) reader.disconnect();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
