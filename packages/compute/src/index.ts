export {
  COMPUTE_ERROR_CODES,
  ComputeError,
  DEFAULT_GUEST_RESTART_POLICY,
  isComputeError,
  silentLogger,
  type ComputeErrorCode,
  type ComputeLogger,
  type ComputeProvider,
  type ExtendVolumeOptions,
  type Flavor,
  type GuestAgentSettings,
  type GuestRestartPolicy,
  type GuestStreamEndpoint,
  type GuestSupervision,
  type ServerInfo,
  type ServerSpec,
  type ServerStatus,
  type ServerResize,
  type VolumeGrowth,
} from './provider';
export {
  MAX_ALLOWED_CIDRS,
  parseAllowedSources,
  privateSources,
  type AllowedSources,
} from './allowed-sources';
export { type ComputeProviderContext, type ComputeProviderDefinition } from './provider-definition';
export { localComputeProvider } from './local/local-definition';
export {
  CGROUPS_SETTINGS,
  GUEST_AGENT_HEADROOM_MB,
  limitsOf,
  type CgroupsSetting,
  type CgroupStats,
  type InstanceCgroups,
} from './local/cgroups';
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
export {
  loopDeviceMountedOn,
  makeExt4Image,
  unmountVolumesUnder,
  type VolumeSetting,
} from './local/volume';
export { DEFAULT_GUEST_POOL, GUEST_POOL_DIR, parseGuestPoolSize } from './local/guest-pool';
export {
  DEFAULT_VOLUME_POOL,
  parseVolumePoolSpec,
  VOLUME_POOL_DIR,
  type VolumePoolSpec,
} from './local/volume-pool';
