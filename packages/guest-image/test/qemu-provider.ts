// A compute provider for the VM test: the taskmanager's createServer boots the guest image
// under QEMU (vm.ts) with a config drive carrying exactly the user data the OpenStack provider
// gives Nova (`guestUserData`), and a volume named in the server's metadata as the OpenStack
// provider names its Cinder volume. One server at a time; nothing of OpenStack is played
// beyond that (resize, extend, allowed sources are the OpenStack provider's tests').
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  ComputeError,
  privateSources,
  type ComputeProvider,
  type GuestSupervision,
  type ServerInfo,
  type ServerSpec,
  type VolumeGrowth,
} from '@coffer/compute';
import { guestUserData } from '@coffer/compute-openstack';

import { makeConfigDrive, startVm, type GuestImage, type Vm } from './vm';

export const GUEST_DATABASE_PORT = 3306;

interface Running {
  info: ServerInfo;
  vm: Vm;
  dir: string;
}

export class QemuComputeProvider implements ComputeProvider {
  readonly name = 'qemu-test';
  private running: Running | undefined;

  constructor(
    private readonly options: {
      image: GuestImage;
      dir: string;
      hostPort: number;
      memoryMb: number;
      onStart?: (vm: Vm) => void;
    },
  ) {}

  get vm(): Vm | undefined {
    return this.running?.vm;
  }

  async createServer(spec: ServerSpec): Promise<ServerInfo> {
    if (this.running?.info.instanceId === spec.instanceId) return this.running.info;
    if (this.running) throw new ComputeError('QUOTA', 'this test machine runs one VM at a time');
    const { userData } = guestUserData(spec, GUEST_DATABASE_PORT);
    const dir = join(this.options.dir, spec.instanceId);
    mkdirSync(dir, { recursive: true });
    const volumeId = randomUUID();
    const volume = join(dir, 'volume.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, `${spec.volumeGb}G`]);
    const configDrive = makeConfigDrive(dir, {
      uuid: randomUUID(),
      name: `coffer-${spec.instanceId}`,
      meta: { 'coffer-instance': spec.instanceId, 'coffer-volume': volumeId },
      userData,
    });
    const vm = startVm({
      dir,
      image: this.options.image,
      memoryMb: this.options.memoryMb,
      configDrive,
      volume: { path: volume, serial: volumeId.slice(0, 20) },
      // beside the server's directory: kept after a delete, for a failure's report
      serialLog: join(this.options.dir, `${spec.instanceId}.serial.log`),
      forward: { hostPort: this.options.hostPort, guestPort: GUEST_DATABASE_PORT },
    });
    this.options.onStart?.(vm);
    const info: ServerInfo = {
      serverId: spec.instanceId,
      instanceId: spec.instanceId,
      host: '127.0.0.1',
      port: this.options.hostPort,
      status: 'ACTIVE',
      flavor: spec.flavor,
      volumeGb: spec.volumeGb,
      allowedSources: spec.allowedSources ?? privateSources(),
    };
    this.running = { info, vm, dir };
    return info;
  }

  async getServer(serverId: string): Promise<ServerInfo | null> {
    return this.running?.info.serverId === serverId && this.isUp() ? this.running.info : null;
  }

  async listServers(): Promise<ServerInfo[]> {
    return this.running && this.isUp() ? [this.running.info] : [];
  }

  async deleteServer(serverId: string): Promise<void> {
    if (this.running?.info.serverId !== serverId) return;
    const { vm, dir } = this.running;
    this.running = undefined;
    await vm.kill();
    rmSync(dir, { recursive: true, force: true });
  }

  async ensureServerRunning(serverId: string): Promise<GuestSupervision> {
    return (await this.getServer(serverId)) ? { state: 'running' } : { state: 'missing' };
  }

  async rebootServer(): Promise<void> {
    throw new ComputeError('UNAVAILABLE', 'not played by the VM test');
  }

  async resizeServer(): Promise<never> {
    throw new ComputeError('UNAVAILABLE', 'not played by the VM test');
  }

  /** Cinder's extend of an attached volume, as Nova passes it to the VM: the disk grows online. */
  async extendVolume(serverId: string, volumeGb: number): Promise<VolumeGrowth> {
    const running = this.running;
    if (running?.info.serverId !== serverId || !this.isUp())
      throw new ComputeError('NOT_FOUND', `no server ${serverId}`);
    if (volumeGb === running.info.volumeGb) return 'unchanged';
    if (volumeGb < running.info.volumeGb)
      throw new ComputeError('INVALID', 'a volume never shrinks');
    await running.vm.resizeVolume(volumeGb * 2 ** 30);
    running.info = { ...running.info, volumeGb };
    return 'online';
  }

  async setAllowedSources(): Promise<void> {
    throw new ComputeError('UNAVAILABLE', 'not played by the VM test');
  }

  private isUp(): boolean {
    const child = this.running?.vm.process;
    return !!child && child.exitCode === null && child.signalCode === null;
  }
}
