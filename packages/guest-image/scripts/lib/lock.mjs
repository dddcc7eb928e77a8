// One build at a time per cache dir: a lock file holding the builder's pid, taken over when
// that process is gone.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { BuildError, progress } from './run.mjs';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

export async function withLock(path, work, { timeoutMs = 30 * 60_000 } = {}) {
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`);
  const deadline = Date.now() + timeoutMs;
  let told = false;
  try {
    for (;;) {
      try {
        linkSync(mine, path);
        break;
      } catch (error) {
        if (error.code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (!alive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new BuildError(`another build (pid ${holder}) holds ${path}`);
      if (!told) progress(`waiting for another build (pid ${holder}, ${path})`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
