import {
  ComputeError,
  LocalComputeProvider,
  privateSources,
  type ComputeProvider,
  type ComputeProviderDefinition,
  type ServerInfo,
  type ServerSpec,
} from '@coffer/compute';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MASTER_KEY, WorkerTestContext } from '../test/harness';
import {
  ComputeProviderUnavailableError,
  createComputeProvider,
  registerComputeProvider,
  registeredComputeProviders,
} from './compute';
import { loadWorkerEnv } from './env';
import { buildSettings } from './settings';

/**
 * Issue 12's "a second compute provider is a folder and one registration line": a provider
 * defined here, registered by name, is what COFFER_COMPUTE_PROVIDER picks, for the provider
 * factory and for a real taskmanager building and deleting an instance with it.
 */

/** A provider that keeps its servers in memory and runs nothing: all a provider must be. */
class InMemoryProvider implements ComputeProvider {
  readonly name = 'in-memory-test';
  readonly servers = new Map<string, ServerInfo>();
  readonly created: ServerSpec[] = [];
  readonly deleted: string[] = [];

  async createServer(spec: ServerSpec): Promise<ServerInfo> {
    this.created.push(spec);
    const server = this.servers.get(spec.instanceId) ?? {
      serverId: `mem-${spec.instanceId}`,
      instanceId: spec.instanceId,
      // Its own address per server, so it picks the datastore's port, as a VM provider does.
      host: `${spec.instanceId}.in-memory.invalid`,
      port: 3306,
      status: 'ACTIVE' as const,
      flavor: spec.flavor,
      volumeGb: spec.volumeGb,
      allowedSources: spec.allowedSources ?? privateSources(),
    };
    this.servers.set(spec.instanceId, server);
    return server;
  }
  async getServer(serverId: string) {
    return [...this.servers.values()].find((server) => server.serverId === serverId) ?? null;
  }
  async rebootServer() {}
  async resizeServer() {
    return 'in-place' as const;
  }
  async extendVolume() {
    return 'online' as const;
  }
  async setAllowedSources() {}
  async deleteServer(serverId: string) {
    this.deleted.push(serverId);
    for (const [id, server] of this.servers)
      if (server.serverId === serverId) this.servers.delete(id);
  }
  async listServers() {
    return [...this.servers.values()];
  }
  async ensureServerRunning() {
    return { state: 'running' as const };
  }
}

const made: InMemoryProvider[] = [];
const inMemory: ComputeProviderDefinition = {
  name: 'in-memory-test',
  create() {
    const provider = new InMemoryProvider();
    made.push(provider);
    return provider;
  },
};

function settingsFor(provider: string, env: Record<string, string> = {}) {
  return buildSettings(
    loadWorkerEnv({
      COFFER_MASTER_KEY: MASTER_KEY,
      COFFER_COMPUTE_PROVIDER: provider,
      COFFER_DATA_DIR: '/nonexistent',
      ...env,
    }),
  );
}

const logger = { debug() {}, info() {}, warn() {}, error() {} };
let unregister: () => void = () => {};

beforeAll(() => {
  unregister = registerComputeProvider(inMemory);
});
afterAll(() => unregister());

describe('the compute provider registry', () => {
  it('picks a registered provider by name, local by default', () => {
    expect(registeredComputeProviders()).toEqual(['in-memory-test', 'local', 'openstack']);
    const picked = createComputeProvider(settingsFor('in-memory-test'), logger);
    expect(picked).toBeInstanceOf(InMemoryProvider);
    expect(picked).toBe(made.at(-1));
    const local = createComputeProvider(settingsFor('local'), logger);
    expect(local).toBeInstanceOf(LocalComputeProvider);
  });

  it('fails at boot, naming the choices, for a name nobody registered', () => {
    expect(() => createComputeProvider(settingsFor('vmware'), logger)).toThrowError(
      new ComputeProviderUnavailableError(
        'COFFER_COMPUTE_PROVIDER=vmware names no compute provider of this worker; it has: in-memory-test, local, openstack',
      ),
    );
    // Not a name at all: the environment is refused first.
    expect(() => settingsFor('Local; rm -rf')).toThrowError(/COFFER_COMPUTE_PROVIDER/);
  });

  it('fails at boot when the provider says it cannot be used as set up', () => {
    const unregisterBroken = registerComputeProvider({
      name: 'needs-a-setting',
      create() {
        throw new ComputeError('UNAVAILABLE', 'NEEDS_A_SETTING is not set');
      },
    });
    try {
      expect(() => createComputeProvider(settingsFor('needs-a-setting'), logger)).toThrowError(
        new ComputeProviderUnavailableError(
          'the compute provider "needs-a-setting" cannot be used: NEEDS_A_SETTING is not set',
        ),
      );
      expect(() =>
        createComputeProvider(settingsFor('local', { COFFER_DATA_DIR: '' }), logger),
      ).toThrowError(ComputeProviderUnavailableError);
    } finally {
      unregisterBroken();
    }
  });

  it('has the OpenStack provider, which refuses to start without its settings', () => {
    expect(() => createComputeProvider(settingsFor('openstack'), logger)).toThrowError(
      /the compute provider "openstack" cannot be used: the OpenStack settings do not parse: .*COFFER_OPENSTACK_AUTH_URL/,
    );
  });

  it('refuses a second provider of the same name', () => {
    expect(() => registerComputeProvider({ ...inMemory })).toThrowError(/already registered/);
  });
});

describe('a taskmanager started with COFFER_COMPUTE_PROVIDER=in-memory-test', () => {
  const ctx = new WorkerTestContext({
    name: 'compute-registry',
  });

  beforeAll(async () => {
    await ctx.setUp();
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('builds and deletes instances through it', async () => {
    const worker = await ctx.startWorker({
      roles: ['taskmanager'],
      // No provider handed in: the worker makes the one the environment names.
      provider: undefined,
      env: { COFFER_COMPUTE_PROVIDER: 'in-memory-test', COFFER_CREATE_TIMEOUT_SECONDS: 1 },
    });
    expect(worker.provider).toBeInstanceOf(InMemoryProvider);
    const provider = worker.provider as InMemoryProvider;

    const { instanceId } = await ctx.createInstance();
    // Nothing runs a guest here, so the build times out once its server exists.
    await waitFor(async () => (await ctx.row(instanceId))?.taskStatus === 'BUILDING_ERROR', {
      timeoutMs: 30_000,
      what: 'BUILDING_ERROR',
    });
    expect(provider.created.map((spec) => spec.instanceId)).toContain(instanceId);
    // The port is the provider's choice, recorded on the row as before.
    expect(await ctx.row(instanceId)).toMatchObject({
      computeServerId: `mem-${instanceId}`,
      host: `${instanceId}.in-memory.invalid`,
      port: 3306,
    });

    await ctx.deleteInstance(instanceId);
    await waitFor(async () => (await ctx.row(instanceId)) === null, {
      timeoutMs: 30_000,
      what: 'the row to be deleted',
    });
    expect(provider.deleted).toEqual([`mem-${instanceId}`]);
    expect(provider.servers.size).toBe(0);
  });
});
