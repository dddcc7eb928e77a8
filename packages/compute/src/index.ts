export {
  ComputeError,
  DEFAULT_GUEST_RESTART_POLICY,
  silentLogger,
  type ComputeLogger,
  type ComputeProvider,
  type GuestAgentSettings,
  type GuestRestartPolicy,
  type GuestSupervision,
  type ServerInfo,
  type ServerSpec,
  type ServerStatus,
} from './provider';
export {
  LocalComputeProvider,
  MAX_RUN_DIR_BYTES,
  type GuestCommand,
  type LocalComputeProviderOptions,
} from './local/local-provider';
export {
  allocatePort,
  canBindPort,
  DEFAULT_PORT_RANGE,
  type PortRange,
} from './local/port-allocator';
