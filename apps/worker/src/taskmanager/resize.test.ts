import { ComputeError, type ComputeProvider, type Flavor } from '@coffer/compute';
import { type Instance } from '@coffer/db';
import { startFlavorResize, startVolumeResize } from '@coffer/db/domain/resize';
import { waitFor } from '@coffer/testing/wait';
import { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TEST_HEARTBEAT, WorkerTestContext, type CreatedInstance } from '../../test/harness';
import { tenantConnection } from '../../test/replication';

/**
 * Resize on real guests and mariadbd (issue 13): a flavor resize (limits, my.cnf, a restart)
 * and a volume grow, each under a steady insert load: no acknowledged row is lost, the new
 * sizing is in effect, the instance is ACTIVE again. A resize that fails rolls back with a
 * fault: the provider refusing a flavor after the guest had applied it (both sides back), and
 * a server that does not start with the new size (the guest's own rollback).
 */

const ctx = new WorkerTestContext({ name: 'resize' });

/** The provider refuses this RAM size, as a cloud refuses a flavor it does not have. */
const REFUSED_RAM_MB = 384;

function refusingProvider(inner: ComputeProvider): ComputeProvider {
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'resizeServer') {
        return async (serverId: string, flavor: Flavor) => {
          if (flavor.ramMb === REFUSED_RAM_MB)
            throw new ComputeError('INVALID', `no host offers ${flavor.ramMb} MB`);
          return target.resizeServer(serverId, flavor);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

const resizeOptions = {
  enqueue: ((name, resourceId, payload) => ctx.enqueue(name, resourceId, payload)) as Parameters<
    typeof startFlavorResize
  >[2]['enqueue'],
  heartbeatExpirySeconds: TEST_HEARTBEAT.expirySeconds,
};

let tenant: CreatedInstance;

beforeAll(async () => {
  await ctx.setUp();
  await ctx.startWorker({ provider: refusingProvider(ctx.provider) });
  tenant = await ctx.createInstance();
  await ctx.waitForActive(tenant.instanceId, { timeoutMs: 120_000 });
  const connection = await connect();
  await connection.query('CREATE TABLE t (id INT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6))');
  await connection.end();
}, 180_000);

afterAll(() => ctx.closeLeavingNothing(), 120_000);

function connect(): Promise<Connection> {
  return tenantConnection(ctx, tenant.instanceId, tenant);
}

/**
 * A steady insert load: one row at a time, autocommit; an id is acknowledged once its INSERT
 * returned. A failed insert (the server restarting) reconnects and goes on with the next id.
 */
function insertLoad(startId: number) {
  const acked: number[] = [];
  let failures = 0;
  let isStopped = false;
  const done = (async () => {
    let connection: Connection | null = null;
    for (let id = startId; !isStopped; id += 1) {
      try {
        connection ??= await connect();
        await connection.query('INSERT INTO t (id) VALUES (?)', [id]);
        acked.push(id);
      } catch {
        failures += 1;
        await connection?.destroy();
        connection = null;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await connection?.end().catch(() => undefined);
  })();
  return {
    acked,
    failures: () => failures,
    stop: async () => {
      isStopped = true;
      await done;
    },
  };
}

async function variables(): Promise<{ bufferPool: number; maxConnections: number }> {
  const connection = await connect();
  try {
    const [rows] = await connection.query(
      "SHOW VARIABLES WHERE Variable_name IN ('innodb_buffer_pool_size', 'max_connections')",
    );
    const values = Object.fromEntries(
      (rows as { Variable_name: string; Value: string }[]).map((row) => [
        row.Variable_name,
        Number(row.Value),
      ]),
    );
    return {
      bufferPool: values.innodb_buffer_pool_size!,
      maxConnections: values.max_connections!,
    };
  } finally {
    await connection.end();
  }
}

async function storedIds(): Promise<Set<number>> {
  const connection = await connect();
  try {
    const [rows] = await connection.query('SELECT id FROM t');
    return new Set((rows as { id: number }[]).map((row) => row.id));
  } finally {
    await connection.end();
  }
}

/** Until the resize ended (task NONE, no record) and the instance shows ACTIVE. */
async function waitForResizeEnd(what: string): Promise<Instance> {
  await waitFor(
    async () => {
      const row = await ctx.row(tenant.instanceId);
      return row?.taskStatus === 'NONE' && row.resizeState === null;
    },
    { timeoutMs: 180_000, what },
  );
  await ctx.waitForActive(tenant.instanceId, { timeoutMs: 60_000 });
  return (await ctx.row(tenant.instanceId))!;
}

async function flavorNamed(name: string) {
  return ctx.prisma.flavor.findUniqueOrThrow({ where: { name } });
}

function expectNoAckedRowLost(acked: number[], stored: Set<number>): void {
  const lost = acked.filter((id) => !stored.has(id));
  expect(lost).toEqual([]);
}

/**
 * Resizes the tenant to `flavorId` and sees it fail for good: the old flavor and sizing back on
 * the row, the guest and the server (1 GB), with a fault matching `fault`.
 */
async function expectFlavorResizeRolledBack(
  flavorId: string,
  what: string,
  fault: RegExp,
): Promise<void> {
  const current = (await ctx.row(tenant.instanceId))!;
  const sizingBefore = await variables();
  await startFlavorResize(
    ctx.prisma,
    { projectId: ctx.projectId, instanceId: tenant.instanceId, flavorId },
    resizeOptions,
  );
  const row = await waitForResizeEnd(what);
  expect(row.flavorId).toBe(current.flavorId);
  expect(row.faultMessage).toMatch(fault);
  expect(await variables()).toEqual(sizingBefore);
  expect((await ctx.provider.getServer(row.computeServerId!))?.flavor.ramMb).toBe(1024);
}

describe('resize on a real guest', () => {
  it('flavor: m1.tiny → m1.small under inserts: the buffer pool and connection limits follow, no acknowledged row lost, ACTIVE', async () => {
    const small = await flavorNamed('m1.small');
    expect(await variables()).toEqual({ bufferPool: 256 * 1024 * 1024, maxConnections: 64 });

    const load = insertLoad(1);
    await waitFor(async () => load.acked.length >= 20, { timeoutMs: 30_000, what: 'the load' });
    await startFlavorResize(
      ctx.prisma,
      { projectId: ctx.projectId, instanceId: tenant.instanceId, flavorId: small.id },
      resizeOptions,
    );
    expect(await ctx.displayStatus(tenant.instanceId)).toBe('RESIZE');
    const row = await waitForResizeEnd('the flavor resize to end');
    const countAtEnd = load.acked.length;
    await waitFor(async () => load.acked.length >= countAtEnd + 20, {
      timeoutMs: 30_000,
      what: 'inserts after the resize',
    });
    await load.stop();

    expect(row.flavorId).toBe(small.id);
    expect(row.faultMessage).toBeNull();
    expect(await variables()).toEqual({ bufferPool: 512 * 1024 * 1024, maxConnections: 128 });
    const server = await ctx.provider.getServer(row.computeServerId!);
    expect(server?.flavor).toEqual({ vcpus: small.vcpus, ramMb: small.ramMb });
    expectNoAckedRowLost(load.acked, await storedIds());
    console.info(
      `flavor resize under load: ${load.acked.length} rows acknowledged, ${load.failures()} inserts refused during the restart`,
    );
  });

  it('volume: 1 GB → 2 GB under inserts, online: the provider and the guest say 2 GB, no acknowledged row lost, ACTIVE', async () => {
    const load = insertLoad(100_000);
    await waitFor(async () => load.acked.length >= 20, { timeoutMs: 30_000, what: 'the load' });
    const before = await ctx.row(tenant.instanceId);
    await startVolumeResize(
      ctx.prisma,
      { projectId: ctx.projectId, instanceId: tenant.instanceId, volumeGb: 2 },
      { ...resizeOptions, quotaDefaults: { instances: 10, volumeGb: 200, backups: 50 } },
    );
    const row = await waitForResizeEnd('the volume resize to end');
    const countAtEnd = load.acked.length;
    await waitFor(async () => load.acked.length >= countAtEnd + 20, {
      timeoutMs: 30_000,
      what: 'inserts after the resize',
    });
    await load.stop();

    expect(before?.volumeSizeGb).toBe(1);
    expect(row.volumeSizeGb).toBe(2);
    expect(row.faultMessage).toBeNull();
    expect(row.volumeTotalBytes).not.toBeNull();
    expect((await ctx.provider.getServer(row.computeServerId!))?.volumeGb).toBe(2);
    expectNoAckedRowLost(load.acked, await storedIds());
  });

  it('a flavor the provider refuses after the guest applied it: both roll back, a fault says why, ACTIVE with the old sizing', async () => {
    const refused = await ctx.prisma.flavor.create({
      data: { name: 'r1.refused', vcpus: 1, ramMb: REFUSED_RAM_MB, defaultVolumeGb: 1 },
    });
    // Smaller: the guest's config is changed (and the server restarted) before the provider is asked.
    await expectFlavorResizeRolledBack(
      refused.id,
      'the refused resize to end',
      /^The resize to r1\.refused failed: no host offers 384 MB The instance runs with m1\.small again\.$/,
    );
  });

  it('a server that does not start with the new size: the guest puts the old config back, the resize rolls back with the reason', async () => {
    // A buffer pool no machine here can allocate: mariadbd exits at start.
    const huge = await ctx.prisma.flavor.create({
      data: { name: 'r1.huge', vcpus: 1, ramMb: 64 * 1024 * 1024, defaultVolumeGb: 1 },
    });
    await expectFlavorResizeRolledBack(
      huge.id,
      'the failed resize to end',
      /^The resize to r1\.huge failed: .*did not start with the new size.* The instance runs with m1\.small again\.$/,
    );
  });
});
