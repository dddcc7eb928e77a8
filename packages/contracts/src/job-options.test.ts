import { describe, expect, it } from 'vitest';

import {
  taskmanagerCallOptions,
  taskmanagerCalls,
  taskmanagerJobOptions,
  taskmanagerJobs,
  type TaskmanagerCallName,
  type TaskmanagerJobName,
} from './jobs';

/** The web app and the worker add jobs with these options: their values are what both used before they moved here. */

const WEEK_SECONDS = 7 * 24 * 3600;
const ATTEMPTS: Record<TaskmanagerJobName, number> = {
  'instance.create': 3,
  'instance.restart': 3,
  'instance.delete': 5,
  'backup.create': 3,
  'backup.delete': 5,
  'replica.promote': 3,
  'replica.eject': 3,
  'replica.detach': 3,
  'instance.resize': 2,
  'instance.setAccess': 5,
  'configuration.apply': 3,
};

describe('taskmanager job options', () => {
  it.each(Object.keys(taskmanagerJobs) as TaskmanagerJobName[])(
    '%s: its deterministic id, attempts, exponential backoff from 2 s, gone when done, a failure kept a week',
    (name) => {
      expect(taskmanagerJobOptions(name, 'resource-1')).toEqual({
        jobId: `${name}-resource-1`,
        attempts: ATTEMPTS[name],
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: true,
        removeOnFail: { age: WEEK_SECONDS },
      });
    },
  );

  it.each(Object.keys(taskmanagerCalls) as TaskmanagerCallName[])(
    '%s: a call of its own id, one attempt, its answer kept a minute, a failure a day',
    (name) => {
      expect(taskmanagerCallOptions(name, 'instance-1', 'nonce')).toEqual({
        jobId: `${name}-instance-1-nonce`,
        attempts: 1,
        removeOnComplete: { age: 60 },
        removeOnFail: { age: 24 * 3600 },
      });
      expect(taskmanagerCalls[name].timeoutMs).toBe(60_000);
    },
  );
});
