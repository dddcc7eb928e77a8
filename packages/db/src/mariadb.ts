import { spawnSync } from 'node:child_process';

/**
 * The version of the MariaDB server installed on this machine ("10.11.19"), from
 * `mariadbd --version` (on PATH, else /usr/sbin/mariadbd, which is not on every user's PATH).
 * `binary` names the server explicitly instead.
 */
export function detectMariadbVersion({ binary }: { binary?: string } = {}): string {
  const candidates = binary ? [binary] : ['mariadbd', '/usr/sbin/mariadbd'];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const result = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (result.error || result.status !== 0) {
      tried.push(`${candidate} (${result.error ? result.error.message : `exit ${result.status}`})`);
      continue;
    }
    const match = /\bVer\s+(\d+\.\d+\.\d+)/.exec(result.stdout);
    if (!match?.[1])
      throw new Error(
        `could not read a version in \`${candidate} --version\`: ${result.stdout.trim()}`,
      );
    return match[1];
  }
  throw new Error(
    `MariaDB server not found (tried ${tried.join(', ')}): install the mariadb-server package ` +
      '(`node scripts/coffer.mjs setup` does) or set COFFER_MARIADBD to the path of mariadbd',
  );
}
