import { describe, expect, it } from 'vitest';

import { replicaBuildProgress } from './replica-progress';

const replica = { status: 'BUILD', serviceStatus: 'NEW', host: null, sourceName: 'shop-db' };

describe('replicaBuildProgress', () => {
  it('advances through the snapshot, the server, the restore and the attach, never backwards', () => {
    const stages = [
      replicaBuildProgress(replica, { status: 'NEW', progress: 0, rawSizeBytes: null }),
      replicaBuildProgress(replica, {
        status: 'BUILDING',
        progress: 25,
        rawSizeBytes: 10 * 1024 * 1024,
      }),
      replicaBuildProgress(
        { ...replica, host: '127.0.0.1' },
        { status: 'BUILDING', progress: 50, rawSizeBytes: 20 * 1024 * 1024 },
      ),
      replicaBuildProgress(
        { ...replica, host: '127.0.0.1', serviceStatus: 'BUILDING' },
        { status: 'COMPLETED', progress: 100, rawSizeBytes: 40 * 1024 * 1024 },
      ),
      replicaBuildProgress({ ...replica, host: '127.0.0.1', serviceStatus: 'RUNNING' }, null),
    ];
    expect(stages.map((stage) => stage.phase)).toEqual([
      'Waiting for the snapshot of shop-db',
      'Creating the server (snapshot 25%)',
      'Starting the guest agent (snapshot 50%)',
      'Restoring the snapshot and starting MariaDB',
      'Connecting replication to shop-db',
    ]);
    const percents = stages.map((stage) => stage.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(percents).size).toBe(percents.length);
    expect(percents.at(-1)).toBeLessThan(100);
    expect(stages[1]!.steps[0]!.label).toBe(
      'Snapshotting shop-db: 25%, 10.0 MB of about 40.0 MB copied',
    );
    expect(stages[4]!.steps.map((step) => step.state)).toEqual(['done', 'done', 'done', 'current']);
  });

  it('counts a snapshot the console has not read yet as not under way, never as gone', () => {
    const withServer = { ...replica, host: '127.0.0.1' };
    const unread = replicaBuildProgress(withServer, 'unread');
    const read = replicaBuildProgress(withServer, {
      status: 'BUILDING',
      progress: 0,
      rawSizeBytes: null,
    });
    // A snapshot gone (null) means taken: further on than one being read for the first time.
    const gone = replicaBuildProgress(withServer, null);
    expect(unread.percent).toBeLessThanOrEqual(read.percent);
    expect(gone.percent).toBeGreaterThan(read.percent);
    expect(unread.steps[0]!.state).toBe('current');
  });
});
