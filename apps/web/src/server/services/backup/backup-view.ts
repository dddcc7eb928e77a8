import 'server-only';

import {
  backupStatusSchema,
  backupTypeSchema,
  type BackupStatus,
  type BackupType,
} from '@coffer/contracts';
import { readMariadbBackupDetails } from '@coffer/contracts/datastores/mariadb';
import { z } from 'zod';

/** The columns every backup read selects (explicit: nothing but what users see). */
export const backupSelect = {
  id: true,
  projectId: true,
  instanceId: true,
  instanceName: true,
  name: true,
  type: true,
  status: true,
  parentId: true,
  isScheduled: true,
  progress: true,
  sizeBytes: true,
  rawSizeBytes: true,
  chunkCount: true,
  faultMessage: true,
  details: true,
  startedAt: true,
  finishedAt: true,
  createdAt: true,
  datastoreVersion: {
    select: {
      name: true,
      version: true,
      datastore: { select: { name: true, manager: true } },
    },
  },
  _count: { select: { children: true } },
} as const;

export const backupViewSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  instanceId: z.string(),
  instanceName: z.string(),
  name: z.string(),
  type: backupTypeSchema,
  status: backupStatusSchema,
  parentId: z.string().nullable(),
  isScheduled: z.boolean(),
  progress: z.number(),
  /** Bytes stored (encrypted, compressed). */
  sizeBytes: z.number().nullable(),
  /** Bytes of the stream before compression. */
  rawSizeBytes: z.number().nullable(),
  chunkCount: z.number().nullable(),
  faultMessage: z.string().nullable(),
  binlogFile: z.string().nullable(),
  binlogPosition: z.number().nullable(),
  gtidPosition: z.string().nullable(),
  /** From the start of streaming to the manifest stored, once ended. */
  durationMs: z.number().nullable(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  createdAt: z.date(),
  datastore: z.object({ name: z.string(), version: z.string(), versionName: z.string() }),
  /** Backups built on this one (deleting it alone is refused while there are any). */
  dependentCount: z.number(),
});
export type BackupView = z.infer<typeof backupViewSchema>;

interface BackupRow {
  id: string;
  projectId: string;
  instanceId: string;
  instanceName: string;
  name: string;
  type: BackupType;
  status: BackupStatus;
  parentId: string | null;
  isScheduled: boolean;
  progress: number;
  sizeBytes: bigint | null;
  rawSizeBytes: bigint | null;
  chunkCount: number | null;
  faultMessage: string | null;
  /** The datastore's record of the backup (its contracts module reads it). */
  details: unknown;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  datastoreVersion: {
    name: string;
    version: string;
    datastore: { name: string; manager: string };
  };
  _count: { children: number };
}

/** The binary log position and GTID a backup was taken at, from its datastore's details. */
function replicationPositionOf(
  manager: string,
  details: unknown,
): Pick<BackupView, 'binlogFile' | 'binlogPosition' | 'gtidPosition'> {
  const recorded = manager === 'mariadb' ? readMariadbBackupDetails(details) : null;
  return {
    binlogFile: recorded?.binlog?.file ?? null,
    binlogPosition: recorded?.binlog?.position ?? null,
    gtidPosition: recorded?.gtid ?? null,
  };
}

export function toBackupView(row: BackupRow): BackupView {
  const { datastoreVersion, _count, sizeBytes, rawSizeBytes, details, ...rest } = row;
  return {
    ...rest,
    sizeBytes: sizeBytes === null ? null : Number(sizeBytes),
    rawSizeBytes: rawSizeBytes === null ? null : Number(rawSizeBytes),
    ...replicationPositionOf(datastoreVersion.datastore.manager, details),
    durationMs:
      row.startedAt && row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null,
    datastore: {
      name: datastoreVersion.datastore.name,
      version: datastoreVersion.version,
      versionName: datastoreVersion.name,
    },
    dependentCount: _count.children,
  };
}
