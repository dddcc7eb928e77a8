import { type RestoreSpec } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';
import { type GuestClient } from '@coffer/guest-client';

import { type WorkerSettings } from '../settings';
import { OperationFailure } from '../taskmanager/operation';
import { requireBackupStore, sealBackupAccess } from './backup-store';

/**
 * What `prepare` needs to fill a new instance from a backup: the chain from its full backup
 * to the restore point (each completed, of this project and datastore version, in the
 * store this Coffer uses), with the manifests' recorded SHA-256, and the project's key and
 * the store sealed for the new guest. `isFollowing`: the restore point may be a full backup
 * still being written (a replica's snapshot), which the guest follows (no SHA-256 yet).
 */
export async function restoreSpecFor(
  prisma: PrismaClient,
  settings: WorkerSettings,
  client: GuestClient,
  target: { projectId: string; datastoreVersionId: string },
  backupId: string,
  options: { isFollowing?: boolean } = {},
): Promise<RestoreSpec> {
  const store = requireBackupStore(settings);
  const chain: RestoreSpec['backups'] = [];
  for (let id: string | null = backupId; id !== null;) {
    const backup: {
      id: string;
      type: RestoreSpec['backups'][number]['type'];
      status: string;
      location: string;
      manifestSha256: string | null;
      parentId: string | null;
      datastoreVersionId: string;
      storeKind: string;
    } | null = await prisma.backup.findFirst({
      where: { id, projectId: target.projectId },
      select: {
        id: true,
        type: true,
        status: true,
        location: true,
        manifestSha256: true,
        parentId: true,
        datastoreVersionId: true,
        storeKind: true,
      },
    });
    if (!backup)
      throw new OperationFailure(
        `Backup ${id} no longer exists: the instance cannot be restored from it.`,
      );
    // A replica's snapshot still being written is followed (no manifest yet: null).
    const isFollowed =
      options.isFollowing === true &&
      id === backupId &&
      backup.type === 'FULL' &&
      backup.status === 'BUILDING';
    if (!isFollowed && (backup.status !== 'COMPLETED' || !backup.manifestSha256)) {
      throw new OperationFailure(
        `Backup ${id} is ${backup.status}: only a completed backup can be restored.`,
      );
    }
    if (backup.datastoreVersionId !== target.datastoreVersionId) {
      throw new OperationFailure(
        `Backup ${id} was made with another datastore version than the instance's.`,
      );
    }
    if (backup.storeKind !== store.kind) {
      throw new OperationFailure(
        `Backup ${id} is stored in a ${backup.storeKind} store, which this Coffer no longer uses.`,
      );
    }
    chain.unshift({
      backupId: backup.id,
      type: backup.type,
      location: backup.location,
      manifestSha256: isFollowed ? null : backup.manifestSha256,
    });
    if (chain.length > 1000)
      throw new OperationFailure(`Backup ${backupId} has a chain longer than 1000 backups.`);
    id = backup.type === 'INCREMENTAL' ? backup.parentId : null;
    if (backup.type === 'INCREMENTAL' && id === null)
      throw new OperationFailure(`Backup ${backup.id} is an incremental without its parent.`);
  }
  return { backups: chain, ...sealBackupAccess(client, settings, target.projectId, backupId) };
}
