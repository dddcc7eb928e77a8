import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { waitForBuildEnd } from '../../test/backups';
import { displayStatusOf, type CreatedInstance, WorkerTestContext } from '../../test/harness';
import {
  idsOn,
  insertIds,
  startInsertLoop,
  startPromote,
  startReplicas,
  tenantConnection,
  tenantWriteError,
  waitForIds,
  waitForReplicationState,
  waitForTasksToEnd,
} from '../../test/replication';

/**
 * The binlog strategy (Trove's MysqlBinlogReplication): a datastore version set to BINLOG
 * attaches its replicas by the snapshot's binary log file and position instead of GTID. The
 * same create and promote as the GTID test: rows replicate, the tenant cannot write on the
 * replica, and a promote under load loses nothing (the switch itself goes by GTID, which
 * MariaDB keeps whatever the attach).
 */

const ctx = new WorkerTestContext();
let tenant: CreatedInstance;
let sourceId: string;
let replicaId: string;

function insertOn(instanceId: string, ids: number[]): Promise<number[]> {
  return insertIds(ctx, instanceId, tenant, ids);
}

beforeAll(async () => {
  await ctx.setUp();
  await ctx.prisma.datastoreVersion.update({
    where: { id: ctx.versionId },
    data: { replicationStrategy: 'BINLOG' },
  });
  await ctx.startWorker();
  tenant = await ctx.createInstance({ name: 'ledger' });
  sourceId = tenant.instanceId;
  await waitForBuildEnd(ctx, sourceId);
  const connection = await tenantConnection(ctx, sourceId, tenant);
  await connection.query('CREATE TABLE t (id INT PRIMARY KEY)');
  await connection.end();
  await insertOn(sourceId, [1, 2, 3]);
}, 120_000);

afterAll(() => ctx.closeLeavingNothing(), 120_000);

describe('replication (binlog file and position)', () => {
  it('creates a replica attached by binlog position: rows replicate, the tenant cannot write on it', async () => {
    const started = await startReplicas(ctx, sourceId, 1);
    replicaId = started.replicaIds[0]!;
    const built = await waitForBuildEnd(ctx, replicaId, 180_000);
    expect(built.outcome, built.row.faultMessage ?? '').toBe('ACTIVE');
    const later = await insertOn(sourceId, [4, 5]);
    await waitForIds(ctx, replicaId, tenant, [1, 2, 3, ...later]);
    const row = await waitForReplicationState(ctx, replicaId, 'REPLICATING');
    const status = row.replicationStatus as {
      isReadOnly: boolean;
      replica: { usingGtid: string };
    };
    expect(status.replica.usingGtid).toBe('NO');
    expect(status.isReadOnly).toBe(true);
    expect(displayStatusOf(row)).toBe('ACTIVE');
    expect(await tenantWriteError(ctx, replicaId, tenant, 99)).toBe('ER_OPTION_PREVENTS_STATEMENT');
  }, 240_000);

  it('promotes it under a steady insert load: nothing acknowledged is lost, and the old source follows', async () => {
    const load = startInsertLoop(ctx, sourceId, tenant, 1_000);
    await waitFor(async () => (await idsOn(ctx, replicaId, tenant)).some((id) => id >= 1_020), {
      timeoutMs: 30_000,
      what: 'the load to reach the replica',
    });
    const members = await startPromote(ctx, replicaId);
    const ended = await waitForTasksToEnd(ctx, members);
    const { acknowledged, refused } = await load.stop();
    for (const row of ended) expect(row.faultMessage, row.name).toBeNull();
    expect(refused).toBeGreaterThan(0);
    const onNew = new Set(await idsOn(ctx, replicaId, tenant));
    expect(acknowledged.filter((id) => !onNew.has(id))).toEqual([]);
    expect((await ctx.row(replicaId))!.replicaOfId).toBeNull();
    expect((await ctx.row(sourceId))!.replicaOfId).toBe(replicaId);
    const after = await insertOn(replicaId, [5_000, 5_001]);
    await waitForIds(ctx, sourceId, tenant, after);
    expect(await tenantWriteError(ctx, sourceId, tenant, 6_000)).toBe(
      'ER_OPTION_PREVENTS_STATEMENT',
    );
    const old = await waitForReplicationState(ctx, sourceId, 'REPLICATING');
    // After the switch the old source follows by GTID.
    expect((old.replicationStatus as { replica: { usingGtid: string } }).replica.usingGtid).toBe(
      'SLAVE_POS',
    );
  }, 240_000);
});
