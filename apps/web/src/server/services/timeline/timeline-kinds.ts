import { deriveDisplayStatus, type ServiceStatus, type TaskStatus } from '@coffer/contracts';
import { z } from 'zod';

import { type TimelineKind } from '~/lib/timeline-kinds';

/**
 * What the timeline calls each recorded thing: the kinds it can be filtered by, which
 * instance event (instance_events.kind) and which request (audit_events.path) is of which
 * kind, and the sentence each request reads as. Pure: no database here.
 */

/** instance_events.kind → timeline kind (the triggers' kinds, the guest's and the watchdog's). */
const EVENT_KINDS: Record<string, TimelineKind> = {
  created: 'task',
  deleted: 'task',
  restore_started: 'restore',
  replica_created: 'replication',
  status_changed: 'status',
  fault: 'fault',
  fault_cleared: 'fault',
  resized: 'resize',
  configuration_changed: 'configuration',
  configuration_applied: 'configuration',
  replication_changed: 'replication',
  replica_reseeded: 'replication',
  backup_started: 'backup',
  backup_completed: 'backup',
  backup_failed: 'backup',
  backup_deleted: 'backup',
  server_restarted: 'fault',
  server_crash_loop: 'fault',
  guest_restarted: 'fault',
  guest_crash_loop: 'fault',
};

/** A request that changed an instance (an audit event's path): its kind and how it reads. */
const REQUESTS: Record<string, { kind: TimelineKind; summary: string }> = {
  'instance.create': { kind: 'task', summary: 'Create requested' },
  'instance.restart': { kind: 'task', summary: 'Restart requested' },
  'instance.delete': { kind: 'task', summary: 'Delete requested' },
  'instance.rename': { kind: 'task', summary: 'Renamed' },
  'instance.setAccess': { kind: 'task', summary: 'Network access changed' },
  'instance.resizeFlavor': { kind: 'resize', summary: 'Flavor resize requested' },
  'instance.resizeVolume': { kind: 'resize', summary: 'Volume resize requested' },
  'backup.create': { kind: 'backup', summary: 'Backup requested' },
  'backup.delete': { kind: 'backup', summary: 'Backup deletion requested' },
  'backup.setSchedule': { kind: 'backup', summary: 'Backup schedule set' },
  'backup.deleteSchedule': { kind: 'backup', summary: 'Backup schedule removed' },
  'configuration.create': { kind: 'configuration', summary: 'Configuration group created' },
  'configuration.createFromInstance': {
    kind: 'configuration',
    summary: 'Configuration group made from the instance',
  },
  'configuration.update': { kind: 'configuration', summary: 'Configuration group changed' },
  'configuration.delete': { kind: 'configuration', summary: 'Configuration group deleted' },
  'configuration.attach': { kind: 'configuration', summary: 'Configuration group attached' },
  'configuration.detach': { kind: 'configuration', summary: 'Configuration group detached' },
  'replica.create': { kind: 'replication', summary: 'Replicas requested' },
  'replica.promote': { kind: 'replication', summary: 'Promote to source requested' },
  'replica.eject': { kind: 'replication', summary: 'Eject of the source requested' },
  'replica.detach': { kind: 'replication', summary: 'Detach from the source requested' },
  'database.create': { kind: 'task', summary: 'Database created' },
  'database.delete': { kind: 'task', summary: 'Database deleted' },
  'databaseUser.create': { kind: 'task', summary: 'Database user created' },
  'databaseUser.update': { kind: 'task', summary: 'Database user changed' },
  'databaseUser.delete': { kind: 'task', summary: 'Database user deleted' },
  'databaseUser.grantAccess': { kind: 'task', summary: 'Access granted to a user' },
  'databaseUser.revokeAccess': { kind: 'task', summary: 'Access revoked from a user' },
  'rootAccess.enable': { kind: 'task', summary: 'Root enabled' },
  'rootAccess.disable': { kind: 'task', summary: 'Root disabled' },
};

/** The instance event kinds of the given timeline kinds (all known ones without a filter). */
export function eventKindsOf(kinds: readonly TimelineKind[] | undefined): string[] {
  return Object.entries(EVENT_KINDS)
    .filter(([, kind]) => !kinds || kinds.includes(kind))
    .map(([eventKind]) => eventKind);
}

/** The request paths of the given timeline kinds (all that change instances without a filter). */
export function requestPathsOf(kinds: readonly TimelineKind[] | undefined): string[] {
  return Object.entries(REQUESTS)
    .filter(([, request]) => !kinds || kinds.includes(request.kind))
    .map(([path]) => path);
}

export function timelineKindOfEvent(eventKind: string): TimelineKind | null {
  return EVENT_KINDS[eventKind] ?? null;
}

export function describeRequest(path: string): { kind: TimelineKind; summary: string } | null {
  return REQUESTS[path] ?? null;
}

const statusChangeSchema = z.object({
  task: z.object({ from: z.string(), to: z.string() }),
  service: z.object({ from: z.string(), to: z.string() }),
});

/**
 * A recorded status change as users see statuses (deriveDisplayStatus, the guest taken as
 * speaking): "Status BUILD → ACTIVE", or the row's words when the details are not readable.
 */
export function describeStatusChange(details: unknown, fallback: string): string {
  const parsed = statusChangeSchema.safeParse(details);
  if (!parsed.success) return fallback;
  const now = new Date();
  const display = (task: string, service: string) =>
    deriveDisplayStatus({
      taskStatus: task as TaskStatus,
      serviceStatus: service as ServiceStatus,
      lastHeartbeatAt: now,
      now,
      heartbeatExpirySeconds: 60,
    });
  const { task, service } = parsed.data;
  const from = display(task.from, service.from);
  const to = display(task.to, service.to);
  if (from !== to) return `Status ${from} → ${to}`;
  return service.from !== service.to
    ? `Status ${to} (server ${service.from} → ${service.to})`
    : `Status ${to} (task ${task.from} → ${task.to})`;
}
