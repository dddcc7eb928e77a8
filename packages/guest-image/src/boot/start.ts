// The guest image's agent entry (coffer-guest.service): the config drive first
// (config-drive.ts: the two files to /etc/coffer, the volume mounted), then the bundled agent
// itself, in the same Node process: without KVM a Node start costs seconds, so the boot pays
// for one. The agent reads its own `--config-dir` from the same command line.
import { applyConfigDrive } from './config-drive';

/** The bundle of apps/guest, as the image holds it (not bundled into this file). */
const GUEST_ENTRY = '/opt/coffer/guest/guest.mjs';

try {
  applyConfigDrive();
} catch (error) {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  process.stderr.write(
    `coffer-config-drive: ${(error as Error).message}${stderr ? `\n${stderr}` : ''}\n`,
  );
  process.exit(1);
}
await import(GUEST_ENTRY);
