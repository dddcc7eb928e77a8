import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const guestRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const bundle = join(guestRoot, 'dist', 'guest.mjs');
/** The guest's sources and those of every workspace package it bundles (its dependencies). */
const sources = [
  join(guestRoot, 'src'),
  ...['contracts', 'host', 'objectstore', 'runtime'].map((name) =>
    join(guestRoot, '..', '..', 'packages', name, 'src'),
  ),
];

function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceTime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/guest.mjs when it is missing or older than any source it bundles. */
export default function setup(): void {
  const isStale =
    !existsSync(bundle) || statSync(bundle).mtimeMs < Math.max(...sources.map(newestSourceTime));
  if (isStale)
    execFileSync(process.execPath, [join(guestRoot, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
