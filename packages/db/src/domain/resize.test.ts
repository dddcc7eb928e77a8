import { AppError } from '@coffer/contracts';
import { describe, expect, it } from 'vitest';

import { assertCanResize } from './resize';

const now = new Date('2026-12-05T12:00:00Z');
const heartbeat = new Date(now.getTime() - 1_000);
const timing = { now, heartbeatExpirySeconds: 30 };

function refusal(fn: () => void): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('assertCanResize', () => {
  it('lets an ACTIVE instance with no task be resized', () => {
    expect(() =>
      assertCanResize(
        { name: 'a', taskStatus: 'NONE', serviceStatus: 'RUNNING', lastHeartbeatAt: heartbeat },
        timing,
      ),
    ).not.toThrow();
  });

  it('says to restart first, not to wait, when configuration values wait for a restart', () => {
    const error = refusal(() =>
      assertCanResize(
        {
          name: 'a',
          taskStatus: 'NONE',
          serviceStatus: 'RESTART_REQUIRED',
          lastHeartbeatAt: heartbeat,
        },
        timing,
      ),
    );
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe(
      'The instance cannot be resized while it is RESTART_REQUIRED: restart it first (configuration values wait for a restart), then resize',
    );
  });

  it('says to wait while a task is under way, naming the replica that holds it up', () => {
    const error = refusal(() =>
      assertCanResize(
        {
          name: 'r1',
          taskStatus: 'BACKING_UP',
          serviceStatus: 'RUNNING',
          lastHeartbeatAt: heartbeat,
        },
        timing,
        'REPLICA_NOT_ACTIVE',
      ),
    );
    expect(error.message).toMatch(
      /^Replica r1 cannot be resized while it is \w+: wait until it is ACTIVE, or resize without replicas$/,
    );
  });
});
