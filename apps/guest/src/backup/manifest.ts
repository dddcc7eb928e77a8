import { createHash } from 'node:crypto';

import {
  BACKUP_MANIFEST_FORMAT,
  backupManifestSchema,
  type BackupChunk,
  type BackupManifest,
  type CreateBackupParams,
  type RestoreBackup,
} from '@coffer/contracts';

import { type z } from 'zod';

import { TenantFacingError } from '../errors';
import { type BackupStreamOutcome } from './strategy';

/**
 * The manifest: chunks with sizes, hashes, IVs and tags; parent; datastore version; the tool
 * and what it recorded (`details`: the datastore's, e.g. MariaDB's LSNs and binlog position).
 * Written last (a backup without one is incomplete); its SHA-256 is what the control plane
 * records, and what a restore checks it against.
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
    details: outcome.details,
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
  /** The schema of what its manager records in a manifest's `details` (its contracts module). */
  details: z.ZodType;
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
    parsed.data.type !== backup.type ||
    !datastore.details.safeParse(parsed.data.details).success
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
