import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';

import { waitFor } from '@coffer/testing/wait';
import { type RunningWorker } from '@coffer/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { startTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * The operators' views and tools: only operators reach them; every instance of every project;
 * the taskmanager queue with a job that really failed in the real taskmanager, retried and
 * discarded; Trove's reset_status; force delete.
 */

let worker: RunningWorker;
const suffix = randomUUID().slice(0, 8);
const queuePrefix = `test-admin-${suffix}`;
const dataDir = testDataDir('web-admin');
const h = useHarness({ env: { COFFER_QUEUE_PREFIX: queuePrefix }, obliterateQueue: true });

beforeAll(async () => {
  // The taskmanager alone, on this file's own queue (no instance is ever started here).
  worker = await startTestWorker(h, {
    roles: ['taskmanager'],
    dataDir,
    names: {
      queuePrefix,
      eventsChannel: `test-admin-events-${suffix}`,
      keyPrefix: `test-admin-${suffix}`,
    },
  });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function queue() {
  const { getTaskmanagerQueue } = await import('~/server/queue');
  return getTaskmanagerQueue();
}

async function operatorCaller() {
  const operator = await h.createUser('operator');
  await h.makeOperator(operator.id);
  return h.callerFor(operator);
}

describe('access', () => {
  it('every admin procedure refuses project owners and members (FORBIDDEN), and serves operators', async () => {
    const { appRouter } = await import('~/server/api/root');
    const adminPaths = Object.keys(appRouter._def.procedures).filter((path) =>
      path.startsWith('admin.'),
    );
    expect(adminPaths).toEqual(
      expect.arrayContaining([
        'admin.instances',
        'admin.resetStatus',
        'admin.forceDelete',
        'admin.queue',
        'admin.retryJob',
      ]),
    );

    const { owner, project } = await h.createProjectWithOwner('Not operators');
    const member = await h.createUser('member');
    await h.addMembership(project.id, member.id, 'MEMBER');
    for (const user of [owner, member]) {
      const caller = h.callerFor(user) as unknown as Record<
        string,
        Record<string, (input: unknown) => Promise<unknown>>
      >;
      for (const path of adminPaths) {
        const [router, procedure] = path.split('.') as [string, string];
        expect({
          path,
          code: await codeOf(
            caller[router]![procedure]!({
              instanceId: randomUUID(),
              jobId: 'x',
              projectId: project.id,
            }),
          ),
        }).toEqual({
          path,
          code: 'FORBIDDEN',
        });
      }
    }

    const admin = await operatorCaller();
    expect(Array.isArray(await admin.admin.instances())).toBe(true);
    expect(await admin.admin.queue()).toMatchObject({ counts: { failed: expect.any(Number) } });
    expect(Array.isArray(await admin.admin.projects())).toBe(true);
  });
});

describe('all instances', () => {
  it('shows every project’s instances with status, task, heartbeat age, guest version, endpoint and fault', async () => {
    const { project } = await h.createProjectWithOwner('Someone else');
    const beat = new Date(Date.now() - 42_000);
    const row = await h.insertInstance(project.id, {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: beat,
      guestVersion: '0.1.0',
      host: '127.0.0.1',
      port: 29399,
      faultMessage: 'earlier trouble',
    });
    const listed = (await (await operatorCaller()).admin.instances()).find((i) => i.id === row.id);
    expect(listed).toMatchObject({
      project: { id: project.id, name: 'Someone else' },
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      status: 'SHUTDOWN', // silent for longer than the expiry
      guestVersion: '0.1.0',
      host: '127.0.0.1',
      port: 29399,
      faultMessage: 'earlier trouble',
    });
    expect(listed!.heartbeatAgeSeconds).toBeGreaterThanOrEqual(42);
  });
});

describe('the taskmanager queue', () => {
  it('shows a job that failed in the taskmanager with its error; retry runs it again; discard removes it', async () => {
    const { owner, project } = await h.createProjectWithOwner('Broken build');
    const instance = await h.insertInstance(project.id);
    const jobId = `instance.create-${instance.id}`;
    // A create the taskmanager cannot build: its payload does not parse (a password that is not sealed).
    await (
      await queue()
    ).add(
      'instance.create',
      { instanceId: instance.id, users: [{ name: 'app', password: 'not-sealed' }] },
      { jobId, attempts: 3 },
    );

    const admin = await operatorCaller();
    const failed = await waitFor(() => admin.admin.queue(), {
      until: (overview) => overview.failed.some((job) => job.id === jobId),
      what: 'the create job to fail',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const job = failed.failed.find((j) => j.id === jobId)!;
    expect(job).toMatchObject({
      name: 'instance.create',
      state: 'failed',
      instanceId: instance.id,
      instance: { name: instance.name, projectId: project.id, projectName: 'Broken build' },
      failedReason: expect.stringContaining('invalid instance.create payload'),
    });
    expect(failed.counts.failed).toBeGreaterThanOrEqual(1);
    // The payload (with its would-be secret) is not shown.
    expect(JSON.stringify(failed)).not.toContain('not-sealed');
    // The taskmanager recorded the fault on the instance.
    const broken = (await admin.admin.instances()).find((i) => i.id === instance.id)!;
    expect(broken).toMatchObject({ taskStatus: 'BUILDING_ERROR', status: 'ERROR' });
    expect(broken.faultMessage).toBeTruthy();

    // Members cannot retry; the operator's retry puts it back and the taskmanager runs it again.
    expect(await codeOf(h.callerFor(owner).admin.retryJob({ jobId }))).toBe('FORBIDDEN');
    const firstFinish = job.finishedAt!.getTime();
    await admin.admin.retryJob({ jobId });
    const again = await waitFor(() => admin.admin.queue(), {
      until: (overview) =>
        overview.failed.some((j) => j.id === jobId && j.finishedAt!.getTime() > firstFinish),
      what: 'the retried job to run and fail again',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(again.failed.find((j) => j.id === jobId)).toMatchObject({
      attemptsMade: 1,
      failedReason: expect.stringContaining('invalid'),
    });

    // Only failed jobs can be retried or discarded.
    expect(await codeOf(admin.admin.retryJob({ jobId: 'instance.create-nope' }))).toBe('NOT_FOUND');
    await admin.admin.discardJob({ jobId });
    expect(await (await queue()).getJob(jobId)).toBeUndefined();
    expect((await admin.admin.queue()).failed.some((j) => j.id === jobId)).toBe(false);
    expect(await codeOf(admin.admin.discardJob({ jobId }))).toBe('NOT_FOUND');

    // reset_status for the instance the failed build left behind: task NONE, status from the
    // next heartbeat (UNKNOWN until then), fault cleared.
    const reset = await admin.admin.resetStatus({ instanceId: instance.id });
    expect(reset).toMatchObject({
      taskStatus: 'NONE',
      serviceStatus: 'UNKNOWN',
      faultMessage: null,
      faultDetails: null,
    });
    const row = await h.prisma.instance.findUniqueOrThrow({ where: { id: instance.id } });
    expect(row).toMatchObject({
      taskStatus: 'NONE',
      serviceStatus: 'UNKNOWN',
      faultMessage: null,
      faultCode: null,
      faultAt: null,
    });
    // The project's owners see in their audit log what the operator did.
    const events = await h.callerFor(owner).audit.list({ projectId: project.id });
    expect(events.events.map((e) => [e.path, e.resourceId, e.result])).toContainEqual([
      'admin.resetStatus',
      instance.id,
      'OK',
    ]);
  });

  it('reset_status ends a task nobody runs any more', async () => {
    const { project } = await h.createProjectWithOwner('Stuck');
    const instance = await h.insertInstance(project.id, {
      taskStatus: 'REBOOTING',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    });
    const admin = await operatorCaller();
    expect((await admin.admin.instances()).find((i) => i.id === instance.id)?.status).toBe(
      'REBOOT',
    );
    const reset = await admin.admin.resetStatus({ instanceId: instance.id });
    expect(reset.taskStatus).toBe('NONE');
    // The next heartbeat decides: as the conductor writes it, the instance is ACTIVE again.
    await h.prisma.instance.update({
      where: { id: instance.id },
      data: { serviceStatus: 'RUNNING', lastHeartbeatAt: new Date() },
    });
    expect((await admin.admin.instances()).find((i) => i.id === instance.id)?.status).toBe(
      'ACTIVE',
    );
    expect(await codeOf(admin.admin.resetStatus({ instanceId: randomUUID() }))).toBe('NOT_FOUND');
  });
});

describe('force delete', () => {
  it('deletes an instance stuck in a task, replacing a failed delete job, and removes the row when there is no server', async () => {
    const { project } = await h.createProjectWithOwner('Force');
    const instance = await h.insertInstance(project.id, {
      taskStatus: 'BACKING_UP',
      serviceStatus: 'RUNNING',
    });
    // An earlier delete that failed for good (its payload does not parse) holds the job id.
    const deleteJobId = `instance.delete-${instance.id}`;
    await (
      await queue()
    ).add('instance.delete', { instanceId: 'not-a-uuid' }, { jobId: deleteJobId, attempts: 1 });
    const admin = await operatorCaller();
    await waitFor(() => admin.admin.queue(), {
      until: (overview) => overview.failed.some((j) => j.id === deleteJobId),
      what: 'the first delete to fail',
      timeoutMs: 60_000,
      intervalMs: 100,
    });

    const accepted = await admin.admin.forceDelete({ instanceId: instance.id });
    expect(accepted.status).toBe('DELETING');
    await waitFor(() => h.prisma.instance.findUnique({ where: { id: instance.id } }), {
      until: (row) => row === null,
      what: 'the row to be removed',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect((await admin.admin.queue()).failed.some((j) => j.id === deleteJobId)).toBe(false);
    expect(await codeOf(admin.admin.forceDelete({ instanceId: instance.id }))).toBe('NOT_FOUND');
  });
});
