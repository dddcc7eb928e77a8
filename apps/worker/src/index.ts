// @coffer/worker's programmatic API: run the real worker in-process (integration tests of this
// package and of the web app's API).
export {
  startWorker,
  WORKER_ROLES,
  type RunningWorker,
  type StartWorkerOptions,
  type WorkerRole,
} from './worker';
export { loadWorkerEnv, WorkerEnvError, type WorkerEnv, type WorkerEnvOverrides } from './env';
export {
  DEFAULT_NAMES,
  type WorkerNames,
  type WorkerSettings,
  type WorkerTuning,
} from './settings';
export { createComputeProvider, resolveGuestCommand } from './compute';
export { prepareJobId } from './taskmanager/create-instance';
export { sealGuestSecret } from './guest-secret';
