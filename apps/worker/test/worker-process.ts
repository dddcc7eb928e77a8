// The worker as its own process, for tests that kill it: what src/main.ts runs, with the
// options of a test (its database, Redis names, data dir, timings) from COFFER_TEST_WORKER_OPTIONS.
import { runWorkerProcess } from '../src/process';
import { WORKER_ROLES, type StartWorkerOptions } from '../src/worker';

// `roles` (default: all three) runs some roles only, as npm start runs each in a process of its own.
const { roles, ...options } = JSON.parse(process.env.COFFER_TEST_WORKER_OPTIONS ?? '{}') as Pick<
  StartWorkerOptions,
  'env' | 'names' | 'tuning' | 'roles'
>;
void runWorkerProcess(roles ?? WORKER_ROLES, options);
