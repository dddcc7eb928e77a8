import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

// This module is every datastore's: a datastore's tools plug in as strategies (strategy.ts),
// and nothing here may reach into a datastore manager.
describe('the backup module', () => {
  it('imports nothing of a datastore manager', () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const offending = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) =>
        [...readFileSync(`${dir}/${name}`, 'utf8').matchAll(/from '([^']+)'/g)]
          .map((match) => match[1]!)
          .filter((path) => /(^|\/)managers(\/|$)/.test(path))
          .map((path) => `${name}: ${path}`),
      );
    expect(offending).toEqual([]);
  });
});
