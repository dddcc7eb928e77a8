// The worker as its own process, for tests that kill it: what src/main.ts runs, with the
// options of a test (its database, Redis names, data dir, timings) from COFFER_TEST_WORKER_OPTIONS.
import { runWorkerProcess } from '../src/process';
import { WORKER_ROLES, type StartWorkerOptions } from '../src/worker';

const options = JSON.parse(process.env.COFFER_TEST_WORKER_OPTIONS ?? '{}') as Pick<
  StartWorkerOptions,
  'env' | 'names' | 'tuning'
>;
void runWorkerProcess(WORKER_ROLES, options);
