import { createServer, type Server } from 'node:net';

import { waitFor } from '@coffer/testing/wait';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { WorkerTestContext } from '../../test/harness';
import { type RunningWorker } from '../worker';

/**
 * Acceptance 5: a create whose guest cannot prepare (its database server cannot start) and a
 * create that times out both end BUILDING_ERROR (shown as ERROR) with a fault a tenant can read.
 */

const ctx = new WorkerTestContext({
  name: 'create-failures',
});
let worker: RunningWorker | null = null;

beforeAll(async () => {
  await ctx.setUp();
});

afterEach(async () => {
  await worker?.stop();
  worker = null;
});

afterAll(() => ctx.closeLeavingNothing());

describe('a create that fails', () => {
  it("ends BUILDING_ERROR with the guest's prepare error when the database server cannot start", async () => {
    worker = await ctx.startWorker();
    // Something else already listens on the instance's port: mariadbd cannot bind it.
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(ctx.portRange.max, '127.0.0.1', resolve));
    try {
      const { instanceId } = await ctx.createInstance({ port: ctx.portRange.max });
      await waitFor(async () => (await ctx.row(instanceId))?.taskStatus === 'BUILDING_ERROR', {
        timeoutMs: 90_000,
        what: 'BUILDING_ERROR',
      });
      const row = (await ctx.row(instanceId))!;
      expect(await ctx.displayStatus(instanceId)).toBe('ERROR');
      expect(row.serviceStatus).toBe('FAILED');
      expect(row.faultMessage).toMatch(/Starting the database server failed/);
      expect(row.faultAt).toBeInstanceOf(Date);
      console.info(`fault: ${row.faultMessage}`);
      await ctx.deleteAndExpectGone(instanceId);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });

  it('ends BUILDING_ERROR when the database server does not start in time', async () => {
    worker = await ctx.startWorker({ env: { COFFER_CREATE_TIMEOUT_SECONDS: 0.2 } });
    const { instanceId } = await ctx.createInstance();
    await waitFor(async () => (await ctx.row(instanceId))?.taskStatus === 'BUILDING_ERROR', {
      timeoutMs: 30_000,
      what: 'BUILDING_ERROR',
    });
    const row = (await ctx.row(instanceId))!;
    expect(await ctx.displayStatus(instanceId)).toBe('ERROR');
    expect(row.faultMessage).toBe('The database server did not start within 0.2 s.');
    // The server exists (the tenant deletes the instance); delete removes everything.
    expect(row.computeServerId).toBe(instanceId);
    await ctx.deleteAndExpectGone(instanceId);
  });

  it('ends BUILDING_ERROR with a readable fault when its payload does not parse', async () => {
    worker = await ctx.startWorker();
    const row = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: 'broken-payload',
        flavorId: ctx.flavorId,
        datastoreVersionId: ctx.versionId,
        volumeSizeGb: 1,
      },
    });
    const jobId = `instance.create-${row.id}`;
    await ctx.queue.add(
      'instance.create',
      { instanceId: row.id, users: [{ name: 'x', password: 'not sealed' }] },
      { jobId, attempts: 3 },
    );
    await waitFor(async () => (await ctx.row(row.id))?.taskStatus === 'BUILDING_ERROR', {
      timeoutMs: 30_000,
      what: 'BUILDING_ERROR',
    });
    expect((await ctx.row(row.id))!.faultMessage).toBe(
      'The request for this operation could not be read by the control plane.',
    );
    // Unrecoverable: failed at once, never retried.
    await waitFor(async () => (await ctx.queue.getJobState(jobId)) === 'failed', {
      timeoutMs: 10_000,
      what: 'the job to fail',
    });
    // Read once failed: a job read while still active holds the attempts counted before.
    const job = (await ctx.queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(1);
    await ctx.deleteAndExpectGone(row.id);
  });
  it('ends BUILDING_ERROR, with no server, for a datastore whose manager Coffer does not know', async () => {
    worker = await ctx.startWorker();
    const datastore = await ctx.prisma.datastore.create({
      data: { name: `nosuchdb-${Date.now()}`, manager: 'nosuchdb' },
    });
    const version = await ctx.prisma.datastoreVersion.create({
      data: { datastoreId: datastore.id, name: '1.0', version: '1.0.0', isDefault: false },
    });
    const row = await ctx.prisma.instance.create({
      data: {
        projectId: ctx.projectId,
        name: 'unknown-manager',
        flavorId: ctx.flavorId,
        datastoreVersionId: version.id,
        volumeSizeGb: 1,
      },
    });
    await ctx.enqueue('instance.create', row.id, { instanceId: row.id, users: [] });
    await waitFor(async () => (await ctx.row(row.id))?.taskStatus === 'BUILDING_ERROR', {
      timeoutMs: 30_000,
      what: 'BUILDING_ERROR',
    });
    const failed = (await ctx.row(row.id))!;
    expect(failed.faultMessage).toBe(
      'The datastore manager "nosuchdb" is not supported by this Coffer.',
    );
    expect(failed.computeServerId).toBeNull();
    expect(await ctx.provider.listServers()).not.toContainEqual(
      expect.objectContaining({ instanceId: row.id }),
    );
    await ctx.deleteAndExpectGone(row.id);
    await ctx.prisma.datastoreVersion.delete({ where: { id: version.id } });
    await ctx.prisma.datastore.delete({ where: { id: datastore.id } });
  });
});
