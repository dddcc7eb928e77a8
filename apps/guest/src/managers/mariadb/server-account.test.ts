import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { canTraverse, chooseServerAccount } from './server-account';

const base = mkdtempSync(join(tmpdir(), 'coffer-account-'));
chmodSync(base, 0o755); // mkdtemp makes it 0700
afterAll(() => rmSync(base, { recursive: true, force: true }));

const nobody = { name: 'coffer-test-nobody', uid: 65_534, gid: 65_534 };

const OWN_USER_SCRIPT = fileURLToPath(
  new URL('../../../test/server-as-own-user.ts', import.meta.url),
);
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A real account of this system, from /etc/passwd. */
function systemUser(name: string): { name: string; uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  if (!line) throw new Error(`there is no ${name} user on this system to run the test as`);
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

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

  // The branch a guest takes when it is not root, run for real whoever runs the suite: as an
  // unprivileged system user (nobody) when the suite runs as root, else as the suite's own user.
  it('not as root: runs the server as the guest’s own user, reached over the socket as that user', () => {
    const runner = isRoot
      ? systemUser('nobody')
      : { uid: userInfo().uid, gid: userInfo().gid, name: userInfo().username };
    const dir = mkdtempSync(join(tmpdir(), 'coffer-own-user-'));
    try {
      if (isRoot) chownSync(dir, runner.uid, runner.gid);
      const child = spawnSync(process.execPath, ['--import', TSX, OWN_USER_SCRIPT, dir], {
        uid: runner.uid,
        gid: runner.gid,
        cwd: dir,
        // Not a guest of the run: it logs nothing (fatal only), and the run's log directory
        // is not the unprivileged user's to write to.
        env: { ...process.env, COFFER_TEST_LOG_DIR: undefined },
        encoding: 'utf8',
        timeout: 110_000,
      });
      expect(child.status, `${child.stdout}${child.stderr}`).toBe(0);
      const outcome = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
        account: unknown;
        warnings: string[];
        serverUid: number;
        currentUser: string;
      };
      expect(outcome.account).toMatchObject({
        runAs: null,
        owner: null,
        bootstrapUser: runner.name,
        installArgs: [`--auth-root-socket-user=${runner.name}`],
        serverArgs: [],
      });
      expect(outcome.warnings).toEqual([]);
      // The server runs as that user, and knows the guest by its socket account of that name.
      expect(outcome.serverUid).toBe(runner.uid);
      expect(outcome.currentUser).toBe(`${runner.name}@localhost`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
