import { describe, expect, it } from 'vitest';

import { backupViewSchema, toBackupView } from './backup-view';

/** A completed backup's row as `backupSelect` reads it. */
function rowWith(details: unknown, manager = 'mariadb') {
  return {
    id: '6f1c1f7e-2f0a-4d6c-9b0e-3c8f0b8f7a10',
    projectId: '0a0b6a3e-51d4-4b7b-8b6f-1e2d3c4b5a69',
    instanceId: '7d9e8f70-1a2b-4c3d-8e4f-5a6b7c8d9e0f',
    instanceName: 'db',
    name: 'nightly',
    type: 'FULL' as const,
    status: 'COMPLETED' as const,
    parentId: null,
    isScheduled: false,
    progress: 100,
    sizeBytes: 1234n,
    rawSizeBytes: 5678n,
    chunkCount: 1,
    faultMessage: null,
    details,
    startedAt: new Date('2026-01-01T00:00:00Z'),
    finishedAt: new Date('2026-01-01T00:00:05Z'),
    createdAt: new Date('2026-01-01T00:00:00Z'),
    datastoreVersion: {
      name: '10.11',
      version: '10.11.19',
      datastore: { name: 'mariadb', manager },
    },
    _count: { children: 0 },
  };
}

describe('a backup as tenants see it', () => {
  it("shows the binary log position and GTID from its datastore's details", () => {
    const view = toBackupView(
      rowWith({
        lsn: { from: '0', to: '123', last: '123' },
        binlog: { file: 'mysql-bin.000002', position: 845 },
        gtid: '0-1-3',
      }),
    );
    expect(backupViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({
      binlogFile: 'mysql-bin.000002',
      binlogPosition: 845,
      gtidPosition: '0-1-3',
      sizeBytes: 1234,
      durationMs: 5000,
    });
    expect(view).not.toHaveProperty('details');
  });

  it('shows none when nothing was recorded, or not by MariaDB', () => {
    const none = { binlogFile: null, binlogPosition: null, gtidPosition: null };
    expect(toBackupView(rowWith(null))).toMatchObject(none);
    expect(toBackupView(rowWith({ binlog: 'not MariaDB' }))).toMatchObject(none);
    expect(
      toBackupView(rowWith({ lsn: null, binlog: null, gtid: '0-1-3' }, 'another')),
    ).toMatchObject(none);
  });
});
