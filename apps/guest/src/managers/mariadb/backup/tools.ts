import { executableDirs, findExecutable } from '../../../lib/find-executable';

/**
 * The programs backups and restores run: mariadb-backup (physical, with mbstream to unpack
 * its xbstream), mariadb-dump and the mariadb client (logical), and zstd. Found in the
 * guest's bin dir, then on PATH, then in the usual dirs; a missing one fails the operation
 * with the name of what to install.
 */
export interface BackupTools {
  mariadbBackup: string;
  mbstream: string;
  mariadbDump: string;
  mariadbClient: string;
  zstd: string;
}

export class MissingToolError extends Error {
  constructor(names: string[], hint: string) {
    super(`${names[0]} is not installed (${hint})`);
    this.name = 'MissingToolError';
  }
}

function find(names: string[], dirs: string[], hint: string): string {
  const found = findExecutable(names, dirs);
  if (found === null) throw new MissingToolError(names, hint);
  return found;
}

export function findBackupTools({ path, binDir }: { path: string; binDir?: string }): BackupTools {
  const dirs = executableDirs({ path, binDir }, ['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  return {
    mariadbBackup: find(['mariadb-backup', 'mariabackup'], dirs, 'Debian package mariadb-backup'),
    mbstream: find(['mbstream'], dirs, 'Debian package mariadb-backup'),
    mariadbDump: find(['mariadb-dump', 'mysqldump'], dirs, 'Debian package mariadb-client'),
    mariadbClient: find(['mariadb', 'mysql'], dirs, 'Debian package mariadb-client'),
    zstd: find(['zstd'], dirs, 'Debian package zstd'),
  };
}

export type FindBackupTools = typeof findBackupTools;
