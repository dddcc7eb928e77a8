import { startGuest } from './agent-bundle';

/**
 * The guest agent run from its sources (`npm run dev`: tsx src/main.ts --config-dir <dir>).
 * The compute provider and the VM image run the bundle instead, dist/guest.mjs (loader.ts).
 */
void startGuest();
