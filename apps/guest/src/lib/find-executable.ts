import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a datastore's programs are looked for, in order: its own bin dir if configured, PATH,
 * then `fallbackDirs` (the usual dirs of a distribution's packages).
 */
export function executableDirs(
  { path, binDir }: { path: string; binDir?: string },
  fallbackDirs: readonly string[],
): string[] {
  return [...(binDir ? [binDir] : []), ...path.split(':').filter(Boolean), ...fallbackDirs];
}

/** The first of `names` (in order) that is executable in one of `dirs` (in order), or null. */
export function findExecutable(names: readonly string[], dirs: readonly string[]): string | null {
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
  return null;
}
