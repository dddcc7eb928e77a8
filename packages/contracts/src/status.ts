import { z } from 'zod';

/**
 * What the control plane is doing to an instance (Trove's task status). Kept in step with
 * the `TaskStatus` enum of packages/db's schema.
 */
export const TASK_STATUSES = [
  'NONE',
  'BUILDING',
  'REBOOTING',
  'RESIZING',
  'DELETING',
  'BACKING_UP',
  'PROMOTING',
  'EJECTING',
  'DETACHING',
  'BUILDING_ERROR',
] as const;
export const taskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

/**
 * What the guest last reported about its database server (Trove's service status). Kept in
 * step with the `ServiceStatus` enum of packages/db's schema.
 */
export const SERVICE_STATUSES = [
  'NEW',
  'BUILDING',
  'RUNNING',
  'SHUTDOWN',
  'CRASHED',
  'FAILED',
  'BLOCKED',
  'RESTART_REQUIRED',
  'UNKNOWN',
] as const;
export const serviceStatusSchema = z.enum(SERVICE_STATUSES);
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

/** The one status users see (Trove's instance status), derived by {@link deriveDisplayStatus}. */
export const DISPLAY_STATUSES = [
  'BUILD',
  'ACTIVE',
  'REBOOT',
  'RESIZE',
  'BACKUP',
  'SHUTDOWN',
  'BLOCKED',
  'ERROR',
  'PROMOTE',
  'EJECT',
  'DETACH',
  'RESTART_REQUIRED',
  'DELETING',
] as const;
export const displayStatusSchema = z.enum(DISPLAY_STATUSES);
export type DisplayStatus = z.infer<typeof displayStatusSchema>;

/** How long a guest may stay silent before its instance shows SHUTDOWN, unless configured. */
export const DEFAULT_HEARTBEAT_EXPIRY_SECONDS = 15;
/** How often a guest reports, unless configured. */
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 3;

export interface StatusInputs {
  taskStatus: TaskStatus;
  serviceStatus: ServiceStatus;
  /** When the newest heartbeat was applied; null when the guest never reported. */
  lastHeartbeatAt: Date | null;
  now: Date;
  heartbeatExpirySeconds: number;
}

const TASK_DISPLAY: Partial<Record<TaskStatus, DisplayStatus>> = {
  BUILDING_ERROR: 'ERROR',
  DELETING: 'DELETING',
  REBOOTING: 'REBOOT',
  RESIZING: 'RESIZE',
  BACKING_UP: 'BACKUP',
  PROMOTING: 'PROMOTE',
  EJECTING: 'EJECT',
  DETACHING: 'DETACH',
};

const SERVICE_DISPLAY: Record<ServiceStatus, DisplayStatus> = {
  NEW: 'BUILD',
  BUILDING: 'BUILD',
  RUNNING: 'ACTIVE',
  SHUTDOWN: 'SHUTDOWN',
  CRASHED: 'SHUTDOWN',
  FAILED: 'ERROR',
  BLOCKED: 'BLOCKED',
  RESTART_REQUIRED: 'RESTART_REQUIRED',
  UNKNOWN: 'ERROR',
};

/** True when the guest has reported within the expiry interval. */
export function isHeartbeatFresh(
  lastHeartbeatAt: Date | null,
  now: Date,
  heartbeatExpirySeconds: number,
): boolean {
  if (!lastHeartbeatAt) return false;
  return now.getTime() - lastHeartbeatAt.getTime() <= heartbeatExpirySeconds * 1000;
}

/**
 * The status shown to users, from the task status, the service status and the heartbeat's
 * age (Trove's `SimpleInstance.status`). Errors of the control plane win; then whatever the
 * control plane is doing; then, with no task, what the guest reports, as long as it still
 * reports: a guest silent for longer than the expiry shows SHUTDOWN, never ACTIVE forever.
 */
export function deriveDisplayStatus(inputs: StatusInputs): DisplayStatus {
  const { taskStatus, serviceStatus } = inputs;
  if (taskStatus === 'BUILDING') {
    return serviceStatus === 'FAILED' ? 'ERROR' : 'BUILD';
  }
  const byTask = TASK_DISPLAY[taskStatus];
  if (byTask) return byTask;

  // No task: the guest's word, if it is still speaking.
  if (serviceStatus === 'NEW') return 'BUILD';
  if (serviceStatus === 'FAILED' || serviceStatus === 'UNKNOWN') return 'ERROR';
  if (!isHeartbeatFresh(inputs.lastHeartbeatAt, inputs.now, inputs.heartbeatExpirySeconds)) {
    return 'SHUTDOWN';
  }
  return SERVICE_DISPLAY[serviceStatus];
}

/**
 * True when the server runs and its guest answers: ACTIVE, or RESTART_REQUIRED (configuration
 * values wait for a restart; issue 15). What needs the guest's word (databases, users, root,
 * narrowing the allowed sources) needs one of these.
 */
export function isServing(status: DisplayStatus): boolean {
  return status === 'ACTIVE' || status === 'RESTART_REQUIRED';
}

/** True for statuses in which nothing is under way and the instance can take a new action. */
export function isSettled(status: DisplayStatus): boolean {
  return (
    status === 'ACTIVE' ||
    status === 'SHUTDOWN' ||
    status === 'ERROR' ||
    status === 'RESTART_REQUIRED' ||
    status === 'BLOCKED'
  );
}
