import { type BackupReport } from '@coffer/contracts';
import { type Prisma, type PrismaClient } from '@coffer/db';

/**
 * Applies a guest's backup report (progress, then COMPLETED or FAILED) to that backup, and
 * only if it is a backup of the reporting instance: a guest speaks for its own backups only.
 * Each write is one conditional update that follows NEW → BUILDING → COMPLETED | FAILED:
 * progress never goes back, and nothing changes a backup that has ended (a late progress
 * report, a replayed message, or the report of a guest that restarted mid-backup after the
 * control plane already failed it).
 */

export type BackupApplyOutcome =
  { isApplied: true; projectId: string; backupId: string } | { isApplied: false };

export async function applyBackupReport(
  prisma: PrismaClient,
  instanceId: string,
  report: BackupReport,
  now: Date = new Date(),
): Promise<BackupApplyOutcome> {
  const mine = { id: report.backupId, instanceId };
  let rows: { projectId: string }[];
  switch (report.status) {
    case 'BUILDING': {
      const progress = {
        progress: report.progress,
        sizeBytes: BigInt(report.storedBytes),
        rawSizeBytes: BigInt(report.rawBytes),
      };
      rows = await prisma.backup.updateManyAndReturn({
        where: { ...mine, status: 'NEW' },
        data: { ...progress, status: 'BUILDING', startedAt: now },
        select: { projectId: true },
      });
      if (rows.length === 0) {
        rows = await prisma.backup.updateManyAndReturn({
          where: { ...mine, status: 'BUILDING', progress: { lte: report.progress } },
          data: progress,
          select: { projectId: true },
        });
      }
      break;
    }
    case 'COMPLETED': {
      const result = report.result;
      if (!result) return { isApplied: false };
      const data: Prisma.BackupUpdateManyMutationInput = {
        status: 'COMPLETED',
        progress: 100,
        sizeBytes: BigInt(report.storedBytes),
        rawSizeBytes: BigInt(report.rawBytes),
        chunkCount: result.chunkCount,
        manifestSha256: result.manifestSha256,
        // The datastore's own record (its contracts module reads it) and the base of an
        // incremental of this one, both kept as the guest reported them.
        details: result.details as Prisma.InputJsonObject,
        incrementalBase: result.incrementalBase,
        serverVersion: result.serverVersion,
        startedAt: new Date(result.startedAt),
        finishedAt: new Date(result.finishedAt),
        faultMessage: null,
      };
      rows = await prisma.backup.updateManyAndReturn({
        where: { ...mine, status: { in: ['NEW', 'BUILDING'] } },
        data,
        select: { projectId: true },
      });
      break;
    }
    case 'FAILED':
      rows = await prisma.backup.updateManyAndReturn({
        where: { ...mine, status: { in: ['NEW', 'BUILDING'] } },
        data: {
          status: 'FAILED',
          faultMessage: report.message ?? 'The backup failed.',
          finishedAt: now,
        },
        select: { projectId: true },
      });
      break;
  }
  const [row] = rows;
  return row
    ? { isApplied: true, projectId: row.projectId, backupId: report.backupId }
    : { isApplied: false };
}
