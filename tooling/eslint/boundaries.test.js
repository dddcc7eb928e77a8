import path from 'node:path';

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

/** The rules that fire on `code` as the file `file` of `pkg`, linted with that package's own config. */
async function violations(pkg, file, code) {
  const eslint = new ESLint({ cwd: path.join(root, pkg) });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, pkg, file) });
  return result.messages
    .filter((message) => message.severity === 2)
    .map((message) => message.ruleId);
}

const RESTRICTED = '@typescript-eslint/no-restricted-imports';

describe("each package's Must not import", () => {
  it('refuses what a README forbids and lets the rest through', async () => {
    expect(await violations('packages/compute', 'src/probe.ts', "import '@coffer/db';")).toEqual([
      RESTRICTED,
    ]);
    expect(
      await violations('packages/compute', 'src/probe.ts', "import '@coffer/worker';"),
    ).toEqual([RESTRICTED]);
    expect(
      await violations('packages/compute', 'src/probe.ts', "import '@coffer/contracts';"),
    ).toEqual([]);
    expect(
      await violations('packages/host', 'src/probe.ts', "import '@coffer/contracts';"),
    ).toEqual([RESTRICTED]);
  });

  it('allows in tests what only tests may use', async () => {
    expect(await violations('apps/web', 'src/server/probe.ts', "import '@coffer/worker';")).toEqual(
      [RESTRICTED],
    );
    expect(
      await violations('apps/web', 'src/server/probe.test.ts', "import '@coffer/worker';"),
    ).toEqual([]);
    expect(
      await violations('apps/web', 'src/server/probe.test.ts', "import '@coffer/compute';"),
    ).toEqual([RESTRICTED]);
    expect(
      await violations('apps/guest', 'src/probe.ts', "import '@coffer/guest-client';"),
    ).toEqual([RESTRICTED]);
    expect(
      await violations('apps/guest', 'test/probe.ts', "import '@coffer/guest-client';"),
    ).toEqual([]);
  });

  it('allows the named entries only', async () => {
    expect(
      await violations('apps/worker', 'src/probe.ts', "import '@coffer/guest/launch';"),
    ).toEqual([]);
    expect(
      await violations('apps/worker', 'src/probe.ts', "import '@coffer/guest/src/main';"),
    ).toEqual([RESTRICTED]);
    expect(await violations('packages/objectstore', 'src/probe.ts', "import 'node:http';")).toEqual(
      [],
    );
    expect(await violations('packages/objectstore', 'src/probe.ts', "import 'undici';")).toEqual([
      RESTRICTED,
    ]);
    expect(await violations('packages/contracts', 'src/probe.ts', "import 'node:fs';")).toEqual([
      RESTRICTED,
    ]);
    expect(
      await violations('packages/contracts', 'src/crypto.ts', "import 'node:crypto';"),
    ).toEqual([]);
  });

  it('lets types through where only types may cross', async () => {
    const typeOnly =
      "import type { AppRouter } from '@coffer/web/api';\nexport type R = AppRouter;";
    expect(await violations('examples', 'probe.ts', typeOnly)).toEqual([]);
    expect(await violations('examples', 'probe.ts', "import '@coffer/web/api';")).toEqual([
      RESTRICTED,
    ]);
  });
});

describe('relative imports', () => {
  it('refuses one that leaves its package, keeps those inside it', async () => {
    const across = "export const load = () => import('../apps/web/src/server/api/root');";
    expect(await violations('bench', 'probe.ts', across)).toEqual([
      'coffer/no-relative-import-across-packages',
    ]);
    expect(await violations('bench', 'probe.ts', "import './lib/report';")).toEqual([]);
    expect(await violations('apps/web', 'src/server/api/probe.ts', "import '../../env';")).toEqual(
      [],
    );
  });
});
