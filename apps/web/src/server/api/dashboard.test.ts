import { createBackupRow } from '@coffer/db/factories';
import { describe, expect, it } from 'vitest';

import { RECENT_EVENT_COUNT } from '~/server/services/project/dashboard';
import { codeOf } from '~/test/callers';
import { setQuota, useHarness } from '~/test/suite';

/**
 * project.dashboard: the project's instances by status, those that need attention, its usage
 * against its quotas and its newest events, in one call; another tenant's project is "not
 * found". No worker: the rows are written as the worker and the conductor write them.
 */

const h = useHarness();

const running = () => ({
  taskStatus: 'NONE' as const,
  serviceStatus: 'RUNNING' as const,
  lastHeartbeatAt: new Date(),
});

describe('project.dashboard', () => {
  it('counts instances by status, names those that need attention, and shows the usage against the quotas and the newest events', async () => {
    const { env } = await import('~/env');
    const { owner, project } = await h.createProjectWithOwner('Dashboard');
    await setQuota(h, project.id, 'VOLUME_GB', 20);
    // ACTIVE with its volume 95 % full (an alert); ACTIVE and quiet; in ERROR; being built;
    // deleted (not counted).
    const full = await h.insertInstance(project.id, {
      name: 'full-db',
      volumeSizeGb: 2,
      volumeUsedBytes: 95n,
      volumeTotalBytes: 100n,
    });
    await h.insertInstance(project.id, { name: 'quiet-db', volumeSizeGb: 3, ...running() });
    const failed = await h.insertInstance(project.id, {
      name: 'failed-db',
      volumeSizeGb: 4,
      taskStatus: 'NONE',
      serviceStatus: 'FAILED',
      faultMessage: 'The server did not start',
    });
    await h.insertInstance(project.id, { name: 'new-db' });
    await h.insertInstance(project.id, { name: 'gone-db', deletedAt: new Date() });
    await createBackupRow(h.prisma, full, { status: 'COMPLETED' });
    await createBackupRow(h.prisma, full, { status: 'FAILED' });
    // Last: full-db's guest reports its server running.
    await h.prisma.instance.update({ where: { id: full.id }, data: running() });

    const dashboard = await h.callerFor(owner).project.dashboard({ projectId: project.id });

    expect(dashboard.instances).toEqual({
      total: 4,
      byStatus: [
        { status: 'BUILD', count: 1 },
        { status: 'ACTIVE', count: 2 },
        { status: 'ERROR', count: 1 },
      ],
    });
    expect(dashboard.attention).toEqual([
      {
        instanceId: failed.id,
        instanceName: 'failed-db',
        status: 'ERROR',
        problems: ['In ERROR: The server did not start'],
        alerts: [],
      },
      {
        instanceId: full.id,
        instanceName: 'full-db',
        status: 'ACTIVE',
        problems: [],
        alerts: [expect.objectContaining({ kind: 'volume', value: 0.95 })],
      },
    ]);
    expect(dashboard.quotas).toEqual({
      instances: { inUse: 4, limit: env.COFFER_QUOTA_INSTANCES, isOverride: false },
      volumeGb: { inUse: 10, limit: 20, isOverride: true },
      backups: { inUse: 1, limit: env.COFFER_QUOTA_BACKUPS, isOverride: false },
    });
    // The timeline's newest entries: the last change first.
    expect(dashboard.recentEvents.length).toBeGreaterThan(1);
    expect(dashboard.recentEvents.length).toBeLessThanOrEqual(RECENT_EVENT_COUNT);
    expect(dashboard.recentEvents[0]).toMatchObject({
      kind: 'status',
      summary: 'Status BUILD → ACTIVE',
      instance: { id: full.id, name: 'full-db' },
    });
    const times = dashboard.recentEvents.map((entry) => entry.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));

    // Another tenant: the project does not exist for them, and their own shows none of it.
    const other = await h.createProjectWithOwner('Elsewhere');
    const stranger = h.callerFor(other.owner);
    expect(await codeOf(stranger.project.dashboard({ projectId: project.id }))).toBe('NOT_FOUND');
    const theirs = await stranger.project.dashboard({ projectId: other.project.id });
    expect(theirs.instances).toEqual({ total: 0, byStatus: [] });
    expect(theirs.attention).toEqual([]);
    expect(theirs.quotas.volumeGb).toEqual({
      inUse: 0,
      limit: env.COFFER_QUOTA_VOLUME_GB,
      isOverride: false,
    });
    expect(theirs.recentEvents).toEqual([]);
  });
});
