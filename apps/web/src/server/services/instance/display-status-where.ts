import 'server-only';

import { type DisplayStatus, type ServiceStatus, type TaskStatus } from '@coffer/contracts';
import { type Prisma } from '@coffer/db';

/**
 * `deriveDisplayStatus` (contracts' status.ts) as a filter: the instances that show `status`
 * now, found by the database from the task, the service status and the heartbeat's age. Kept
 * in step with that function by admin.test.ts, which checks every combination against it.
 */

/** Tasks that decide the status alone. */
const TASK_SHOWS: Partial<Record<TaskStatus, DisplayStatus>> = {
  BUILDING_ERROR: 'ERROR',
  DELETING: 'DELETING',
  REBOOTING: 'REBOOT',
  RESIZING: 'RESIZE',
  BACKING_UP: 'BACKUP',
  PROMOTING: 'PROMOTE',
  EJECTING: 'EJECT',
  DETACHING: 'DETACH',
};

/** With no task, whatever the heartbeat says. */
const SERVICE_ALWAYS: Partial<Record<ServiceStatus, DisplayStatus>> = {
  NEW: 'BUILD',
  FAILED: 'ERROR',
  UNKNOWN: 'ERROR',
};

/** With no task and a fresh heartbeat (a stale one shows SHUTDOWN). */
const SERVICE_WHEN_FRESH: Partial<Record<ServiceStatus, DisplayStatus>> = {
  BUILDING: 'BUILD',
  RUNNING: 'ACTIVE',
  SHUTDOWN: 'SHUTDOWN',
  CRASHED: 'SHUTDOWN',
  BLOCKED: 'BLOCKED',
  RESTART_REQUIRED: 'RESTART_REQUIRED',
};

const keysShowing = <K extends string>(
  table: Partial<Record<K, DisplayStatus>>,
  status: DisplayStatus,
) => (Object.keys(table) as K[]).filter((key) => table[key] === status);

export function displayStatusWhere(
  status: DisplayStatus,
  now: Date,
  heartbeatExpirySeconds: number,
): Prisma.InstanceWhereInput {
  const cutoff = new Date(now.getTime() - heartbeatExpirySeconds * 1000);
  const fresh: Prisma.InstanceWhereInput = { lastHeartbeatAt: { gte: cutoff } };
  const stale: Prisma.InstanceWhereInput = {
    OR: [{ lastHeartbeatAt: null }, { lastHeartbeatAt: { lt: cutoff } }],
  };
  const any: Prisma.InstanceWhereInput[] = [];
  const tasks = keysShowing(TASK_SHOWS, status);
  if (tasks.length) any.push({ taskStatus: { in: tasks } });
  // A build: BUILD, unless the guest said it failed.
  if (status === 'BUILD') any.push({ taskStatus: 'BUILDING', serviceStatus: { not: 'FAILED' } });
  if (status === 'ERROR') any.push({ taskStatus: 'BUILDING', serviceStatus: 'FAILED' });
  const always = keysShowing(SERVICE_ALWAYS, status);
  if (always.length) any.push({ taskStatus: 'NONE', serviceStatus: { in: always } });
  const whenFresh = keysShowing(SERVICE_WHEN_FRESH, status);
  if (whenFresh.length) {
    any.push({ taskStatus: 'NONE', serviceStatus: { in: whenFresh }, ...fresh });
  }
  if (status === 'SHUTDOWN') {
    const speaking = Object.keys(SERVICE_WHEN_FRESH) as ServiceStatus[];
    any.push({ taskStatus: 'NONE', serviceStatus: { in: speaking }, ...stale });
  }
  return any.length ? { OR: any } : { id: { in: [] } };
}
