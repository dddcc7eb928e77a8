import { type ComputeProviderDefinition } from '../provider-definition';
import { ComputeError } from '../provider';
import { localComputeEnv } from '../env';
import { cgroupsSettingFromEnv } from './cgroups';
import { parseGuestPoolSize } from './guest-pool';
import { LocalComputeProvider } from './local-provider';
import { volumePoolFromEnv, volumeSettingFromEnv } from './volume';

/** The embedded provider: servers are directories and guest processes on this machine. */
export const localComputeProvider: ComputeProviderDefinition = {
  name: 'local',
  create(context) {
    if (!context.dataDir) {
      throw new ComputeError(
        'UNAVAILABLE',
        'COFFER_DATA_DIR is not set: the local compute provider keeps its instances under it',
      );
    }
    return new LocalComputeProvider({
      dataDir: context.dataDir,
      guestCommand: context.guestCommand(),
      host: context.instanceHost,
      bindAddress: context.instanceBindAddress,
      portRange: context.portRange,
      logger: context.logger,
      // auto | off | required: the flavor's CPU and memory as cgroup limits (cgroups.ts)
      cgroups: cgroupsSettingFromEnv(),
      // loop | directory | auto (default: loop where the host can loop-mount; see volume.ts)
      volumes: volumeSettingFromEnv(),
      // <GB>:<count>,… | off (default 1:8,2:2,5:2,10:2): ready volume images (volume-pool.ts)
      volumePool: volumePoolFromEnv(),
      // <count> | off (default 2): standby guests the taskmanager keeps started (guest-pool.ts)
      guestPool: parseGuestPoolSize(localComputeEnv().COFFER_LOCAL_GUEST_POOL),
    });
  },
};
