import 'server-only';

import { AppError } from '@coffer/contracts';

import { type ProjectScopedDb } from '~/server/tenancy';

const GIB = 1024 ** 3;

/**
 * The smallest volume (GB) a restore of this backup may have: what its chain (the full and the
 * incrementals up to it) held before compression, rounded up to whole GB, at least 1. A
 * restore asks for a volume at least this big (createInstance refuses a smaller one).
 */
export async function restoreNeededVolumeGb(
  db: ProjectScopedDb,
  backupId: string,
): Promise<number> {
  let bytes = 0n;
  let id: string | null = backupId;
  for (let depth = 0; id && depth < 10_000; depth += 1) {
    const link: { rawSizeBytes: bigint | null; parentId: string | null } | null =
      await db.backup.findFirst({ where: { id }, select: { rawSizeBytes: true, parentId: true } });
    if (!link) {
      if (id === backupId) throw new AppError('NOT_FOUND', 'Backup not found');
      break;
    }
    bytes += link.rawSizeBytes ?? 0n;
    id = link.parentId;
  }
  return Math.max(1, Math.ceil(Number(bytes) / GIB));
}
