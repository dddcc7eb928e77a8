import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

/**
 * A package's "Must not import" (its README) as lint rules, so the boundary is checked rather
 * than only written down. Each package's eslint.config.js lists its own:
 *
 *   ...mustNotImport('packages/compute/README.md', [
 *     { imports: ['apps', '@coffer/db'], reason: 'the provider runs a command it is given' },
 *   ])
 *
 * What `imports` (and `allow`) may name:
 * - `@coffer/<name>`: that package with every subpath; `@coffer/<name>/<sub>`: exactly that
 *   entry, `@coffer/<name>/test/*`: the entries below it; `@coffer/*`: every package of the
 *   project (the workspace's names, read from the root package.json, so new packages count);
 * - `apps`: every package under apps/ (web, worker, guest, any new one);
 * - `node`: Node's built-in modules (`node:fs`, `fs`…); `*`: anything that is not relative.
 *
 * A rule's `exceptIn` (globs, e.g. TEST_FILES) are files it does not apply to; with
 * `allowTypeImports`, `import type` passes (types are erased: no code crosses). Relative imports
 * out of a package are refused everywhere by base.js (`coffer/no-relative-import-across-packages`).
 */

/** Tests and test helpers, which may use the other side of a boundary as a stand-in. */
export const TEST_FILES = ['**/*.test.ts', '**/*.test.tsx', '**/test/**'];

/** Tooling configs (ESLint, vitest…) import tooling, not the project. */
const CONFIG_FILES = ['**/*.config.*'];

const root = path.resolve(import.meta.dirname, '..', '..');

/** Every workspace package: its name and its folder relative to the root. */
function readWorkspacePackages() {
  const { workspaces = [] } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const folders = workspaces.flatMap((entry) => {
    if (!entry.endsWith('/*')) return [entry];
    const parent = entry.slice(0, -2);
    return readdirSync(path.join(root, parent), { withFileTypes: true })
      .filter((dirent) => dirent.isDirectory())
      .map((dirent) => `${parent}/${dirent.name}`);
  });
  return folders.flatMap((folder) => {
    try {
      const { name } = JSON.parse(readFileSync(path.join(root, folder, 'package.json'), 'utf8'));
      return name ? [{ name, folder }] : [];
    } catch {
      return []; // a folder without a package.json is not a package
    }
  });
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regular expression source (unanchored) for one name of `imports` or `allow`. */
function sourceOf(spec, packages) {
  const withSubpaths = (name) => `${escape(name)}(?:/.*)?`;
  if (spec === '*') return '[^.].*';
  if (spec === 'node') {
    const bare = builtinModules.filter((name) => !name.startsWith('_')).map(escape);
    return `node:.*|(?:${bare.join('|')})(?:/.*)?`;
  }
  if (spec === 'apps' || spec === '@coffer/*') {
    const names = packages
      .filter((pkg) => spec === '@coffer/*' || pkg.folder.startsWith('apps/'))
      .map((pkg) => pkg.name);
    return names.map(withSubpaths).join('|');
  }
  // A package's name is its first segment, or its first two when scoped (`@coffer/db`).
  const segments = spec.split('/');
  const nameLength = spec.startsWith('@') ? 2 : 1;
  const name = segments.slice(0, nameLength).join('/');
  const subpath = segments.slice(nameLength);
  if (subpath.length === 0) return withSubpaths(name);
  if (subpath.at(-1) === '*') return `${escape([name, ...subpath.slice(0, -1)].join('/'))}/.*`;
  return escape(spec);
}

/**
 * ESLint config objects enforcing `rules` (see above). `readme` is where the boundary is
 * written, quoted in each message.
 *
 * @param {string} readme
 * @param {{ imports: string[], allow?: string[], exceptIn?: string[], allowTypeImports?: boolean, reason: string }[]} rules
 */
export function mustNotImport(readme, rules) {
  const packages = readWorkspacePackages();
  const patternOf = (rule) => {
    const imports = rule.imports.map((spec) => sourceOf(spec, packages)).join('|');
    const allowed = (rule.allow ?? []).map((spec) => sourceOf(spec, packages)).join('|');
    return {
      regex: allowed ? `^(?!(?:${allowed})$)(?:${imports})$` : `^(?:${imports})$`,
      message: `${rule.reason} (see ${readme}).`,
      ...(rule.allowTypeImports ? { allowTypeImports: true } : {}),
    };
  };
  const ruleFor = (applying) => ['error', { patterns: applying.map(patternOf) }];

  const configs = [
    {
      ignores: CONFIG_FILES,
      rules: { '@typescript-eslint/no-restricted-imports': ruleFor(rules) },
    },
  ];
  // Where a rule has exceptions, those files get the same rule without it. (ESLint replaces a
  // rule's options per file; a file matching two different `exceptIn` gets the later's.)
  const exceptions = new Map(
    rules
      .filter((rule) => rule.exceptIn)
      .map((rule) => [JSON.stringify(rule.exceptIn), rule.exceptIn]),
  );
  for (const [key, files] of exceptions) {
    const applying = rules.filter((rule) => JSON.stringify(rule.exceptIn) !== key);
    configs.push({
      files,
      ignores: CONFIG_FILES,
      rules: {
        '@typescript-eslint/no-restricted-imports': applying.length ? ruleFor(applying) : 'off',
      },
    });
  }
  return configs;
}
