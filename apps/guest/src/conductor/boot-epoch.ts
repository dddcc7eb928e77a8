import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '@coffer/host';

/**
 * The guest's boot counter (the `epoch` of its conductor messages): kept in its state dir and
 * raised at every start, so the conductor orders messages by (epoch, seq) across restarts
 * without trusting the guest's clock. Written atomically before the first message is sent.
 */

export const BOOT_EPOCH_FILE = 'conductor-epoch';

/**
 * Reads the last epoch, stores the next one and returns it (1 on the first start). A file that
 * does not hold a number (it never should: the write is atomic) starts over from the clock's
 * milliseconds, above any counter; a restart through the control plane re-bases the order
 * anyway. A state dir that cannot be written throws: the guest must not start with an epoch
 * it would reuse after its next restart.
 */
export function nextBootEpoch(
  stateDir: string,
  onUnreadable: (content: string) => void = () => undefined,
): number {
  const path = join(stateDir, BOOT_EPOCH_FILE);
  let last = 0;
  try {
    const content = readFileSync(path, 'utf8').trim();
    if (/^[0-9]{1,15}$/.test(content)) last = Number(content);
    else {
      onUnreadable(content.slice(0, 40));
      last = Date.now();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const next = last + 1;
  writeFileAtomic(path, `${next}\n`, 0o600);
  return next;
}
