import 'server-only';

import {
  backupStatusSchema,
  backupTypeSchema,
  type BackupStatus,
  type BackupType,
} from '@coffer/contracts';
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
  binlogFile: true,
  binlogPosition: true,
  gtidPosition: true,
  startedAt: true,
  finishedAt: true,
  createdAt: true,
  datastoreVersion: {
    select: { name: true, version: true, datastore: { select: { name: true } } },
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
  binlogFile: string | null;
  binlogPosition: bigint | null;
  gtidPosition: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  datastoreVersion: { name: string; version: string; datastore: { name: string } };
  _count: { children: number };
}

export function toBackupView(row: BackupRow): BackupView {
  const { datastoreVersion, _count, sizeBytes, rawSizeBytes, binlogPosition, ...rest } = row;
  return {
    ...rest,
    sizeBytes: sizeBytes === null ? null : Number(sizeBytes),
    rawSizeBytes: rawSizeBytes === null ? null : Number(rawSizeBytes),
    binlogPosition: binlogPosition === null ? null : Number(binlogPosition),
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
