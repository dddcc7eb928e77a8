import { randomUUID } from 'node:crypto';

import { backupLocation, type BackupReport } from '@coffer/contracts';
import { createTestDatabase, type TestDatabase } from '@coffer/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyBackupReport } from './apply-backup-report';

/**
 * A guest's backup reports change only its own instance's backups, follow NEW → BUILDING →
 * COMPLETED | FAILED, never move progress back, and never touch a backup that has ended.
 */

let db: TestDatabase;
let instanceA: string;
let instanceB: string;

async function newBackup(instanceId: string): Promise<string> {
  const instance = await db.prisma.instance.findUniqueOrThrow({ where: { id: instanceId } });
  const id = randomUUID();
  await db.prisma.backup.create({
    data: {
      id,
      projectId: instance.projectId,
      instanceId,
      instanceName: instance.name,
      name: 'b',
      type: 'FULL',
      datastoreVersionId: instance.datastoreVersionId,
      storeKind: 'local',
      location: backupLocation(instance.projectId, id),
    },
  });
  return id;
}

const building = (backupId: string, progress: number): BackupReport => ({
  backupId,
  status: 'BUILDING',
  progress,
  storedBytes: progress * 10,
  rawBytes: progress * 30,
});
/** What MariaDB records of a backup (the row keeps it as the guest reported it). */
const recorded = {
  lsn: { from: '0', to: '12345678901234567890', last: '12345678901234567899' },
  binlog: { file: 'mysql-bin.000002', position: 845 },
  gtid: '0-1-3',
};
const completed = (backupId: string): BackupReport => ({
  backupId,
  status: 'COMPLETED',
  progress: 100,
  storedBytes: 1000,
  rawBytes: 3000,
  result: {
    manifestSha256: 'a'.repeat(64),
    chunkCount: 1,
    details: recorded,
    incrementalBase: '12345678901234567890',
    serverVersion: '10.11.19-MariaDB',
    startedAt: new Date(Date.now() - 1000).toISOString(),
    finishedAt: new Date().toISOString(),
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
  const project = await db.prisma.project.create({ data: { name: 'reports' } });
  const flavor = await db.prisma.flavor.findFirstOrThrow();
  const version = await db.prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const make = (name: string) =>
    db.prisma.instance.create({
      data: {
        projectId: project.id,
        name,
        flavorId: flavor.id,
        datastoreVersionId: version.id,
        volumeSizeGb: 1,
        taskStatus: 'BACKING_UP',
        serviceStatus: 'RUNNING',
      },
    });
  instanceA = (await make('a')).id;
  instanceB = (await make('b')).id;
});

afterAll(() => db?.drop());

describe('backup reports', () => {
  it('from another instance change nothing', async () => {
    const backupId = await newBackup(instanceA);
    expect(await applyBackupReport(db.prisma, instanceB, building(backupId, 10))).toEqual({
      isApplied: false,
    });
    expect(await applyBackupReport(db.prisma, instanceB, completed(backupId))).toEqual({
      isApplied: false,
    });
    expect(await db.prisma.backup.findUniqueOrThrow({ where: { id: backupId } })).toMatchObject({
      status: 'NEW',
      progress: 0,
    });
  });

  it('move forward only, and end once', async () => {
    const backupId = await newBackup(instanceA);
    expect((await applyBackupReport(db.prisma, instanceA, building(backupId, 40))).isApplied).toBe(
      true,
    );
    expect(await db.prisma.backup.findUniqueOrThrow({ where: { id: backupId } })).toMatchObject({
      status: 'BUILDING',
      progress: 40,
    });
    expect((await applyBackupReport(db.prisma, instanceA, building(backupId, 20))).isApplied).toBe(
      false,
    );
    expect((await applyBackupReport(db.prisma, instanceA, completed(backupId))).isApplied).toBe(
      true,
    );
    const done = await db.prisma.backup.findUniqueOrThrow({ where: { id: backupId } });
    expect(done).toMatchObject({
      status: 'COMPLETED',
      progress: 100,
      details: recorded,
      incrementalBase: '12345678901234567890',
      chunkCount: 1,
    });
    // A late progress report, or a FAILED from a restarted guest, changes nothing now.
    expect((await applyBackupReport(db.prisma, instanceA, building(backupId, 99))).isApplied).toBe(
      false,
    );
    expect(
      (
        await applyBackupReport(db.prisma, instanceA, {
          ...building(backupId, 0),
          status: 'FAILED',
          message: 'x',
        })
      ).isApplied,
    ).toBe(false);
    expect((await db.prisma.backup.findUniqueOrThrow({ where: { id: backupId } })).status).toBe(
      'COMPLETED',
    );
  });

  it('FAILED records the reason', async () => {
    const backupId = await newBackup(instanceA);
    await applyBackupReport(db.prisma, instanceA, {
      ...building(backupId, 0),
      status: 'FAILED',
      message: 'mariadb-backup failed: disk full',
    });
    expect(await db.prisma.backup.findUniqueOrThrow({ where: { id: backupId } })).toMatchObject({
      status: 'FAILED',
      faultMessage: 'mariadb-backup failed: disk full',
    });
  });
});
