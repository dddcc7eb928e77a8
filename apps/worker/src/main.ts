// All three roles in one process: what `npm start` runs (scripts/coffer.mjs).
import { runWorkerProcess } from './process';
import { WORKER_ROLES } from './worker';

void runWorkerProcess(WORKER_ROLES);
