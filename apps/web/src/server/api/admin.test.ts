import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';

import { waitFor } from '@coffer/testing/wait';
import { type RunningWorker } from '@coffer/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { callerWithToken, codeOf } from '~/test/callers';
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
    expect(Array.isArray((await admin.admin.instances()).instances)).toBe(true);
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
    const listed = (
      await (await operatorCaller()).admin.instances({ search: row.id })
    ).instances.find((i) => i.id === row.id);
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

describe('the admin list: search, filters, sort and pages on the server', () => {
  it('searches by name, project name and id prefix, filters by project and status, sorts and pages', async () => {
    const a = await h.createProjectWithOwner(`Acme ${suffix}`);
    const b = await h.createProjectWithOwner(`Globex ${suffix}`);
    const fresh = {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    } as const;
    const alpha = await h.insertInstance(a.project.id, { name: `alpha-${suffix}`, ...fresh });
    const beta = await h.insertInstance(a.project.id, {
      name: `beta-${suffix}`,
      taskStatus: 'REBOOTING',
    });
    const gamma = await h.insertInstance(b.project.id, { name: `gamma-${suffix}`, ...fresh });
    const admin = await operatorCaller();
    const names = async (input: Parameters<typeof admin.admin.instances>[0]) =>
      (await admin.admin.instances(input)).instances.map((i) => i.name);

    expect(await names({ search: `ALPHA-${suffix}` })).toEqual([alpha.name]);
    expect(await names({ search: `globex ${suffix}` })).toEqual([gamma.name]);
    expect(await names({ search: gamma.id.slice(0, 8) })).toContain(gamma.name);
    expect(await names({ search: gamma.id })).toEqual([gamma.name]);
    expect(await names({ projectId: a.project.id, sort: 'name', order: 'asc' })).toEqual([
      alpha.name,
      beta.name,
    ]);
    expect(await names({ projectId: a.project.id, sort: 'name', order: 'desc' })).toEqual([
      beta.name,
      alpha.name,
    ]);
    expect(await names({ search: suffix, status: 'ACTIVE', sort: 'name', order: 'asc' })).toEqual([
      alpha.name,
      gamma.name,
    ]);
    expect(await names({ search: suffix, status: 'REBOOT' })).toEqual([beta.name]);
    expect(await names({ search: suffix, sort: 'status', order: 'asc' })).toEqual([
      alpha.name, // ACTIVE
      gamma.name, // ACTIVE
      beta.name, // REBOOT
    ]);
    expect(await names({ search: suffix, sort: 'created', order: 'asc' })).toEqual([
      alpha.name,
      beta.name,
      gamma.name,
    ]);

    // Pages: two of two, then the last one; the total counts every match.
    const first = await admin.admin.instances({
      search: suffix,
      sort: 'name',
      order: 'asc',
      pageSize: 2,
    });
    const second = await admin.admin.instances({
      search: suffix,
      sort: 'name',
      order: 'asc',
      pageSize: 2,
      page: 2,
    });
    expect(first).toMatchObject({ total: 3, page: 1, pageSize: 2 });
    expect([...first.instances, ...second.instances].map((i) => i.name)).toEqual([
      alpha.name,
      beta.name,
      gamma.name,
    ]);
    const byStatusPage = await admin.admin.instances({
      search: suffix,
      sort: 'status',
      pageSize: 1,
      page: 3,
      order: 'asc',
    });
    expect(byStatusPage).toMatchObject({ total: 3, instances: [{ name: beta.name }] });
    expect(await codeOf(admin.admin.instances({ pageSize: 1000 }))).toBe('BAD_REQUEST');
  });

  it('the status filter finds exactly what deriveDisplayStatus shows, for every task, service status and heartbeat', async () => {
    const { deriveDisplayStatus, DISPLAY_STATUSES, SERVICE_STATUSES, TASK_STATUSES } =
      await import('@coffer/contracts');
    const { env } = await import('~/env');
    const { project } = await h.createProjectWithOwner('Every status');
    const template = await h.insertInstance(project.id, { name: `template-${suffix}` });
    await h.prisma.instance.delete({ where: { id: template.id } });
    const now = Date.now();
    const beats = [null, new Date(now), new Date(now - 3_600_000)];
    const rows = TASK_STATUSES.flatMap((taskStatus) =>
      SERVICE_STATUSES.flatMap((serviceStatus) =>
        beats.map((lastHeartbeatAt, index) => ({
          projectId: project.id,
          name: `${taskStatus}-${serviceStatus}-${index}`.toLowerCase().replace(/_/g, '-'),
          flavorId: template.flavorId,
          datastoreVersionId: template.datastoreVersionId,
          volumeSizeGb: 1,
          taskStatus,
          serviceStatus,
          lastHeartbeatAt,
        })),
      ),
    );
    await h.prisma.instance.createMany({ data: rows });
    const admin = await operatorCaller();
    for (const status of DISPLAY_STATUSES) {
      const expected = rows
        .filter(
          (row) =>
            deriveDisplayStatus({
              ...row,
              now: new Date(),
              heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
            }) === status,
        )
        .map((row) => row.name)
        .sort();
      const found = await admin.admin.instances({
        projectId: project.id,
        status,
        sort: 'name',
        order: 'asc',
        pageSize: 100,
      });
      expect({ status, names: found.instances.map((i) => i.name).sort() }).toEqual({
        status,
        names: expected,
      });
      expect(found.instances.every((i) => i.status === status)).toBe(true);
    }
  });
});

describe('operators drill down into a tenant’s project; nobody else does', () => {
  it('an operator reads another project’s instance read-only; a non-member is NOT_FOUND; a token never reaches past its project', async () => {
    const { owner, project } = await h.createProjectWithOwner('Drilled');
    const instance = await h.insertInstance(project.id, {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
    });
    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    const admin = h.callerFor(operator);

    expect(await admin.project.get({ projectId: project.id })).toEqual({
      id: project.id,
      name: 'Drilled',
      role: 'VIEWER',
      access: 'operator',
    });
    expect(
      await admin.instance.get({ projectId: project.id, instanceId: instance.id }),
    ).toMatchObject({
      id: instance.id,
      name: instance.name,
      status: 'ACTIVE',
    });
    expect((await admin.instance.list({ projectId: project.id })).map((i) => i.id)).toEqual([
      instance.id,
    ]);
    // Read-only: every change is refused, even ones a session could make in its own projects.
    expect(
      await codeOf(admin.instance.restart({ projectId: project.id, instanceId: instance.id })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        admin.apiToken.create({
          projectId: project.id,
          name: 'sneaky',
          scope: 'READ_WRITE',
          expiresInDays: 1,
        }),
      ),
    ).toBe('FORBIDDEN');
    expect(await h.prisma.apiToken.count({ where: { projectId: project.id } })).toBe(0);
    // The owner's own role is untouched.
    expect(await h.callerFor(owner).project.get({ projectId: project.id })).toMatchObject({
      role: 'OWNER',
      access: 'membership',
    });

    // Anyone else who is not a member: as if the project and instance did not exist.
    const stranger = await h.createProjectWithOwner('Stranger');
    const other = h.callerFor(stranger.owner);
    expect(await codeOf(other.project.get({ projectId: project.id }))).toBe('NOT_FOUND');
    expect(
      await codeOf(other.instance.get({ projectId: project.id, instanceId: instance.id })),
    ).toBe('NOT_FOUND');
    // Nor through the stranger's own project.
    expect(
      await codeOf(other.instance.get({ projectId: stranger.project.id, instanceId: instance.id })),
    ).toBe('NOT_FOUND');

    // An operator's API token stays inside its own project.
    await h.addMembership(stranger.project.id, operator.id, 'OWNER');
    const { token } = await admin.apiToken.create({
      projectId: stranger.project.id,
      name: 'ops-script',
      scope: 'READ_ONLY',
      expiresInDays: 1,
    });
    const script = await callerWithToken(h, token);
    expect(await codeOf(script.project.get({ projectId: project.id }))).toBe('NOT_FOUND');
    expect(
      await codeOf(script.instance.get({ projectId: project.id, instanceId: instance.id })),
    ).toBe('NOT_FOUND');
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
    const broken = (await admin.admin.instances({ search: instance.id })).instances.find(
      (i) => i.id === instance.id,
    )!;
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
    expect(
      (await admin.admin.instances({ search: instance.id })).instances.find(
        (i) => i.id === instance.id,
      )?.status,
    ).toBe('REBOOT');
    const reset = await admin.admin.resetStatus({ instanceId: instance.id });
    expect(reset.taskStatus).toBe('NONE');
    // The next heartbeat decides: as the conductor writes it, the instance is ACTIVE again.
    await h.prisma.instance.update({
      where: { id: instance.id },
      data: { serviceStatus: 'RUNNING', lastHeartbeatAt: new Date() },
    });
    expect(
      (await admin.admin.instances({ search: instance.id })).instances.find(
        (i) => i.id === instance.id,
      )?.status,
    ).toBe('ACTIVE');
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
