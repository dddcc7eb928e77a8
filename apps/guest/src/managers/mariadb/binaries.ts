import { executableDirs, findExecutable } from '../../lib/find-executable';

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

function findRequired(names: string[], dirs: string[]): string {
  const found = findExecutable(names, dirs);
  if (found === null) throw new MissingBinaryError(names, dirs);
  return found;
}

/** Finds the server and its installer: in `binDir` if given, then on PATH, then in the sbin dirs. */
export function findMariadbBinaries({
  path,
  binDir,
}: {
  path: string;
  binDir?: string;
}): MariadbBinaries {
  const dirs = executableDirs({ path, binDir }, ['/usr/sbin', '/usr/local/sbin', '/usr/bin']);
  return {
    mariadbd: findRequired(['mariadbd', 'mysqld'], dirs),
    installDb: findRequired(['mariadb-install-db', 'mysql_install_db'], dirs),
    taskset: findExecutable(['taskset'], [...dirs, '/bin']),
  };
}
