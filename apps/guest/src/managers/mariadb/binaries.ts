import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export interface MariadbBinaries {
  mariadbd: string;
  installDb: string;
  /** util-linux's taskset, to keep the install on one CPU (see install-cpu.ts); null without it. */
  taskset: string | null;
}

export class MissingBinaryError extends Error {
  constructor(names: string[], dirs: string[]) {
    super(`MariaDB is not installed: none of ${names.join(', ')} found in ${dirs.join(':')}`);
    this.name = 'MissingBinaryError';
  }
}

function findExecutable(names: string[], dirs: string[]): string {
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // Not here.
      }
    }
  }
  throw new MissingBinaryError(names, dirs);
}

function findOptionalExecutable(name: string, dirs: string[]): string | null {
  try {
    return findExecutable([name], dirs);
  } catch {
    return null;
  }
}

/** Finds the server and its installer: in `binDir` if given, then on PATH, then in the sbin dirs. */
export function findMariadbBinaries({
  path,
  binDir,
}: {
  path: string;
  binDir?: string;
}): MariadbBinaries {
  const dirs = [
    ...(binDir ? [binDir] : []),
    ...path.split(':').filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/bin',
  ];
  return {
    mariadbd: findExecutable(['mariadbd', 'mysqld'], dirs),
    installDb: findExecutable(['mariadb-install-db', 'mysql_install_db'], dirs),
    taskset: findOptionalExecutable('taskset', [...dirs, '/bin']),
  };
}
