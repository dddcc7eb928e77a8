import { createHash } from 'node:crypto';

import {
  BACKUP_MANIFEST_FORMAT,
  backupManifestSchema,
  type BackupChunk,
  type BackupManifest,
  type CreateBackupParams,
  type RestoreBackup,
} from '@coffer/contracts';

import { TenantFacingError } from '../errors';
import { type BackupStreamOutcome } from './strategy';

/**
 * The manifest: chunks with sizes, hashes, IVs and tags; LSNs; binlog position and GTID;
 * parent; datastore version. Written last (a backup without one is incomplete); its SHA-256
 * is what the control plane records, and what a restore checks it against.
 */

export function buildManifest({
  params,
  ids,
  strategy,
  datastore,
  chunks,
  storedBytes,
  outcome,
  startedAt,
  finishedAt,
}: {
  params: CreateBackupParams;
  ids: { projectId: string; instanceId: string };
  strategy: BackupManifest['strategy'];
  datastore: BackupManifest['datastore'];
  chunks: BackupChunk[];
  storedBytes: number;
  outcome: BackupStreamOutcome;
  startedAt: Date;
  finishedAt: Date;
}): BackupManifest {
  return {
    format: BACKUP_MANIFEST_FORMAT,
    backupId: params.backupId,
    projectId: ids.projectId,
    instanceId: ids.instanceId,
    type: params.type,
    strategy,
    datastore,
    parent: params.parent,
    compression: 'zstd',
    compressionLevel: params.compressionLevel,
    encryption: { algorithm: 'aes-256-gcm', key: 'project' },
    chunkSize: params.chunkBytes,
    chunks,
    rawBytes: outcome.rawBytes,
    storedBytes,
    lsn: outcome.lsn,
    binlog: outcome.binlog,
    gtid: outcome.gtid,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}

/** The manifest as stored: one line of JSON. */
export function manifestBytes(manifest: BackupManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest)}\n`);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The datastore this guest runs: a backup of another version is refused. */
export interface ExpectedDatastore {
  /** Its name as a tenant reads it, e.g. "MariaDB". */
  label: string;
  /** The datastore version name, e.g. "10.11". */
  version: string;
}

/** A manifest that describes this backup, of this guest's datastore version. */
export function parseManifest(
  bytes: Buffer,
  backup: Pick<RestoreBackup, 'backupId' | 'type'>,
  datastore: ExpectedDatastore,
): BackupManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = null;
  }
  const parsed = backupManifestSchema.safeParse(json);
  if (
    !parsed.success ||
    parsed.data.backupId !== backup.backupId ||
    parsed.data.type !== backup.type
  ) {
    throw new TenantFacingError(
      `Backup ${backup.backupId}: its manifest does not describe this backup.`,
    );
  }
  if (parsed.data.datastore.version !== datastore.version) {
    throw new TenantFacingError(
      `Backup ${backup.backupId} was made with ${datastore.label} ${parsed.data.datastore.version}; this instance runs ${datastore.version}.`,
    );
  }
  return parsed.data;
}
