import { type GuestResult, type ReplicationStatus, type ServiceStatus } from '@coffer/contracts';
import { type Logger } from 'pino';

import { withTimeout } from '../lib/timeout';
import { GUEST_VERSION } from '../version';
import { type ConductorReporter } from './conductor-reporter';
import { type BeatReadings } from './metrics-sampler';
import { type VolumeReport } from './volume-watch';

/**
 * Reports the service status every interval, and at once when nudged (a status change).
 * One beat at a time: a slow probe delays the next beat instead of piling beats up.
 */
export class Heartbeat {
  private isStopped = true;
  private isNudged = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastStatus: ServiceStatus | null = null;

  constructor(
    private readonly options: {
      intervalMs: number;
      readStatus: () => Promise<GuestResult<'get_status'>>;
      /** What the server says about replication, when it can be read (never throws). */
      readReplication?: () => Promise<ReplicationStatus | undefined>;
      /** The volume's usage and full fault (volume-watch.ts; never throws). */
      readVolume?: () => Promise<VolumeReport | undefined>;
      /** After each beat, with what it read (the metrics sampler; never throws). */
      afterBeat?: (readings: BeatReadings) => Promise<void>;
      reporter: ConductorReporter;
      logger: Logger;
    },
  ) {}

  start(): void {
    if (!this.isStopped) return;
    this.isStopped = false;
    this.loop = this.run();
  }

  /** Beat now (coalesced with a beat already due). */
  nudge(): void {
    this.isNudged = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (!this.isStopped) {
      this.isNudged = false;
      await this.beat();
      if (this.isStopped || this.isNudged) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async beat(): Promise<void> {
    const { logger, reporter, readStatus } = this.options;
    try {
      const { serviceStatus, serverVersion } = await readStatus();
      const replication = await this.options.readReplication?.();
      const volume = await this.options.readVolume?.();
      await withTimeout(
        reporter.sendHeartbeat({
          serviceStatus,
          guestVersion: GUEST_VERSION,
          serverVersion,
          ...(replication ? { replication } : {}),
          ...(volume ? { volume } : {}),
        }),
        Math.max(5000, this.options.intervalMs),
        'sending the heartbeat',
      );
      if (serviceStatus !== this.lastStatus) {
        logger.info({ from: this.lastStatus, to: serviceStatus }, 'service status changed');
        this.lastStatus = serviceStatus;
      }
      await this.options.afterBeat?.({ replication, volume });
    } catch (error) {
      logger.warn({ err: error }, 'heartbeat not sent');
    }
  }
}
