import { describe, expect, it } from 'vitest';

import {
  DISPLAY_STATUSES,
  deriveDisplayStatus,
  isServing,
  type DisplayStatus,
  type ServiceStatus,
  type TaskStatus,
} from './status';

const now = new Date('2026-11-25T12:00:00Z');
const fresh = new Date(now.getTime() - 2_000);
const stale = new Date(now.getTime() - 60_000);

const table: Array<[TaskStatus, ServiceStatus, Date | null, DisplayStatus]> = [
  // Building: BUILD whatever the guest says, unless it failed.
  ['BUILDING', 'NEW', null, 'BUILD'],
  ['BUILDING', 'BUILDING', fresh, 'BUILD'],
  ['BUILDING', 'RUNNING', fresh, 'BUILD'],
  ['BUILDING', 'FAILED', fresh, 'ERROR'],
  ['BUILDING', 'NEW', stale, 'BUILD'],
  // Control-plane errors win over a healthy guest.
  ['BUILDING_ERROR', 'RUNNING', fresh, 'ERROR'],
  ['BUILDING_ERROR', 'NEW', null, 'ERROR'],
  // Tasks show what is under way.
  ['DELETING', 'RUNNING', fresh, 'DELETING'],
  ['DELETING', 'SHUTDOWN', stale, 'DELETING'],
  ['REBOOTING', 'SHUTDOWN', fresh, 'REBOOT'],
  ['RESIZING', 'RUNNING', fresh, 'RESIZE'],
  ['BACKING_UP', 'RUNNING', fresh, 'BACKUP'],
  ['PROMOTING', 'RUNNING', fresh, 'PROMOTE'],
  ['EJECTING', 'RUNNING', fresh, 'EJECT'],
  ['DETACHING', 'RUNNING', fresh, 'DETACH'],
  // No task: the guest's word while it speaks.
  ['NONE', 'RUNNING', fresh, 'ACTIVE'],
  ['NONE', 'SHUTDOWN', fresh, 'SHUTDOWN'],
  ['NONE', 'CRASHED', fresh, 'SHUTDOWN'],
  ['NONE', 'BLOCKED', fresh, 'BLOCKED'],
  ['NONE', 'RESTART_REQUIRED', fresh, 'RESTART_REQUIRED'],
  ['NONE', 'FAILED', fresh, 'ERROR'],
  ['NONE', 'UNKNOWN', fresh, 'ERROR'],
  ['NONE', 'NEW', null, 'BUILD'],
  ['NONE', 'BUILDING', fresh, 'BUILD'],
  // A silent guest is never ACTIVE forever.
  ['NONE', 'RUNNING', stale, 'SHUTDOWN'],
  ['NONE', 'RUNNING', null, 'SHUTDOWN'],
  ['NONE', 'RESTART_REQUIRED', stale, 'SHUTDOWN'],
  ['NONE', 'FAILED', stale, 'ERROR'],
];

describe('deriveDisplayStatus', () => {
  it.each(table)(
    'task %s, service %s, heartbeat %s → %s',
    (taskStatus, serviceStatus, lastHeartbeatAt, expected) => {
      expect(
        deriveDisplayStatus({
          taskStatus,
          serviceStatus,
          lastHeartbeatAt,
          now,
          heartbeatExpirySeconds: 15,
        }),
      ).toBe(expected);
    },
  );

  it('treats a heartbeat exactly at the expiry as fresh and one millisecond later as stale', () => {
    const base = {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      now,
      heartbeatExpirySeconds: 15,
    } as const;
    expect(
      deriveDisplayStatus({ ...base, lastHeartbeatAt: new Date(now.getTime() - 15_000) }),
    ).toBe('ACTIVE');
    expect(
      deriveDisplayStatus({ ...base, lastHeartbeatAt: new Date(now.getTime() - 15_001) }),
    ).toBe('SHUTDOWN');
  });
});

describe('isServing', () => {
  it('is true for ACTIVE and RESTART_REQUIRED only: the server runs and its guest answers', () => {
    expect(DISPLAY_STATUSES.filter((status) => isServing(status))).toEqual([
      'ACTIVE',
      'RESTART_REQUIRED',
    ]);
  });
});
