import { taskmanagerJobId } from '@coffer/contracts';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { fieldErrorsOf } from '~/server/errors';
import { setQuota, useHarness, useTaskmanagerQueue } from '~/test/suite';

/**
 * Backups and replicas against their quotas under concurrency (instances and volume are in
 * quota.test.ts): many creates at once, each on an instance of its own so that only the quota
 * can stop them. The check runs in the insert's transaction under the project's lock; without
 * that lock every transaction would count the same usage and more than the quota would pass.
 */

const h = useHarness();
const queue = useTaskmanagerQueue({ obliterate: true });

/** A project with `count` ACTIVE instances (rows as the worker leaves them). */
async function projectWithActiveInstances(label: string, count: number) {
  const { owner, project } = await h.createProjectWithOwner(label);
  const instances = [];
  for (let index = 0; index < count; index++) {
    instances.push(
      await h.insertInstance(project.id, {
        name: `${label.toLowerCase()}-${index}`,
        taskStatus: 'NONE',
        serviceStatus: 'RUNNING',
        lastHeartbeatAt: new Date(),
      }),
    );
  }
  return { caller: h.callerFor(owner), project, instances };
}

/** Runs every call at once; which instance each passed or failed for. */
async function raceAll<T>(ids: string[], call: (id: string) => Promise<T>) {
  const results = await Promise.allSettled(ids.map(call));
  const passed = ids.filter((_, index) => results[index]!.status === 'fulfilled');
  const refused = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as unknown] : [],
  );
  return { passed, refused };
}

function expectQuotaError(error: unknown, words: string) {
  expect(error).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code).toBe('FORBIDDEN');
  expect((error as TRPCError).message).toContain(words);
}

async function waitingJobIds(): Promise<string[]> {
  const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
  return jobs.map((job) => job.id!).sort();
}

describe('quotas under concurrency', () => {
  it('10 backups at once (one per instance) against a quota of 3: exactly 3 pass, the rest are refused, and the rows match', async () => {
    const { caller, project, instances } = await projectWithActiveInstances('Backups', 10);
    await setQuota(h, project.id, 'BACKUPS', 3);
    await queue.obliterate({ force: true });

    const { passed, refused } = await raceAll(
      instances.map((instance) => instance.id),
      (instanceId) => caller.backup.create({ projectId: project.id, instanceId }),
    );

    expect(passed).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const error of refused) expectQuotaError(error, 'may keep at most 3 backups and has 3');
    // Exactly one backup per instance that passed, those instances BACKING_UP, the others untouched.
    const backups = await h.prisma.backup.findMany({ where: { projectId: project.id } });
    expect(backups.map((backup) => backup.instanceId).sort()).toEqual([...passed].sort());
    const rows = await h.prisma.instance.findMany({ where: { projectId: project.id } });
    for (const row of rows)
      expect(row.taskStatus).toBe(passed.includes(row.id) ? 'BACKING_UP' : 'NONE');
    expect(await waitingJobIds()).toEqual(
      backups.map((backup) => taskmanagerJobId('backup.create', backup.id)).sort(),
    );
  });

  it('replicas of 8 sources at once against an instances quota of 8 + 3: exactly 3 pass, the rest are refused on count, and the rows match', async () => {
    const { caller, project, instances } = await projectWithActiveInstances('Replicas', 8);
    await setQuota(h, project.id, 'INSTANCES', 8 + 3);
    await setQuota(h, project.id, 'VOLUME_GB', 1000);
    await queue.obliterate({ force: true });

    const { passed, refused } = await raceAll(
      instances.map((instance) => instance.id),
      (sourceInstanceId) =>
        caller.replica.create({ projectId: project.id, sourceInstanceId, count: 1 }),
    );

    expect(passed).toHaveLength(3);
    expect(refused).toHaveLength(5);
    for (const error of refused) {
      expectQuotaError(error, 'may have at most 11 instances and has 11');
      expect(fieldErrorsOf((error as TRPCError).cause)).toHaveProperty('count');
    }
    // One replica and one snapshot per source that passed, those sources BACKING_UP, the others untouched.
    const rows = await h.prisma.instance.findMany({ where: { projectId: project.id } });
    expect(rows).toHaveLength(11);
    const replicas = rows.filter((row) => row.replicaOfId !== null);
    expect(replicas.map((row) => row.replicaOfId).sort()).toEqual([...passed].sort());
    const snapshots = await h.prisma.backup.findMany({ where: { projectId: project.id } });
    expect(snapshots.map((backup) => backup.instanceId).sort()).toEqual([...passed].sort());
    for (const source of instances) {
      const row = rows.find((candidate) => candidate.id === source.id)!;
      expect(row.taskStatus).toBe(passed.includes(source.id) ? 'BACKING_UP' : 'NONE');
    }
    expect(await waitingJobIds()).toEqual(
      [
        ...snapshots.map((backup) => taskmanagerJobId('backup.create', backup.id)),
        ...replicas.map((replica) => taskmanagerJobId('instance.create', replica.id)),
      ].sort(),
    );
  });
});
