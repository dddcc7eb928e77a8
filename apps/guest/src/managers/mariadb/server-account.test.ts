import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { canTraverse, chooseServerAccount } from './server-account';

const base = mkdtempSync(join(tmpdir(), 'coffer-account-'));
chmodSync(base, 0o755); // mkdtemp makes it 0700
afterAll(() => rmSync(base, { recursive: true, force: true }));

const nobody = { name: 'coffer-test-nobody', uid: 65_534, gid: 65_534 };

describe('canTraverse', () => {
  it('follows the search bits of every existing directory on the way down', () => {
    const open = join(base, 'open', 'deeper');
    mkdirSync(open, { recursive: true, mode: 0o755 });
    expect(canTraverse(nobody, open)).toBe(true);
    expect(canTraverse(nobody, join(open, 'not-yet', 'created'))).toBe(true);

    const closed = join(base, 'closed');
    mkdirSync(join(closed, 'inside'), { recursive: true });
    chmodSync(closed, 0o700);
    expect(canTraverse(nobody, join(closed, 'inside'))).toBe(false);
  });
});

describe('chooseServerAccount', () => {
  const isRoot = userInfo().uid === 0;

  it.runIf(isRoot)(
    'runs the server as mysql when it can reach the dirs, else as root with a warning',
    () => {
      const warnings: string[] = [];
      const reachable = chooseServerAccount([join(base, 'open')], (message) =>
        warnings.push(message),
      );
      expect(reachable).toMatchObject({
        runAs: 'mysql',
        bootstrapUser: 'root',
        serverArgs: ['--user=mysql'],
      });
      expect(warnings).toEqual([]);

      const hidden = chooseServerAccount([join(base, 'closed', 'inside')], (message) =>
        warnings.push(message),
      );
      expect(hidden).toMatchObject({ runAs: 'root', owner: null, serverArgs: ['--user=root'] });
      expect(warnings).toEqual([
        expect.stringMatching(/cannot reach .*running the database server as root/),
      ]);
    },
  );

  it.runIf(!isRoot)('runs the server as the guest’s own user when not root', () => {
    expect(chooseServerAccount([base], () => undefined)).toMatchObject({
      runAs: null,
      bootstrapUser: userInfo().username,
    });
  });
});
