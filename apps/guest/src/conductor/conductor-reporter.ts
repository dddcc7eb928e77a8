import {
  type BackupReport,
  conductorMessageSchema,
  type ConductorMessage,
  type EventPayload,
  type FaultPayload,
  type HeartbeatPayload,
  type MetricsSampleInput,
} from '@coffer/contracts';
import { signBody } from '@coffer/contracts/crypto';
import { type Redis } from 'ioredis';

/**
 * The guest's side of the conductor stream (Trove's conductor RPC): every message is a
 * stream entry with `body` (the JSON of a ConductorMessage) and `sig` (its HMAC with this
 * guest's signing key), with this boot's `epoch` (boot-epoch.ts) and a sequence number within
 * it, by which the conductor orders messages and drops what is stale, and the send time, which
 * the conductor only checks against its own clock.
 */

export interface ConductorReporterOptions {
  redis: Redis;
  stream: string;
  instanceId: string;
  signingKey: Buffer;
  /** This start's boot number (`nextBootEpoch`): raised at every guest start, kept across them. */
  epoch: number;
  /** Bound on the stream's length (approximate trimming); the conductor acks and reads far faster. */
  maxLength?: number;
}

export const DEFAULT_STREAM_MAX_LENGTH = 100_000;

export class ConductorReporter {
  private seq = 0;

  constructor(private readonly options: ConductorReporterOptions) {}

  sendHeartbeat(payload: HeartbeatPayload): Promise<string> {
    return this.send({ kind: 'heartbeat', payload });
  }

  sendFault(payload: FaultPayload): Promise<string> {
    return this.send({ kind: 'fault', payload });
  }

  sendEvent(payload: EventPayload): Promise<string> {
    return this.send({ kind: 'event', payload });
  }

  sendBackup(payload: BackupReport): Promise<string> {
    return this.send({ kind: 'backup', payload });
  }

  /** A metrics sample (metrics-sampler.ts). */
  sendMetrics(payload: MetricsSampleInput): Promise<string> {
    return this.send({ kind: 'metrics', payload } as Pick<ConductorMessage, 'kind' | 'payload'>);
  }

  private async send(message: Pick<ConductorMessage, 'kind' | 'payload'>): Promise<string> {
    const {
      redis,
      stream,
      instanceId,
      signingKey,
      epoch,
      maxLength = DEFAULT_STREAM_MAX_LENGTH,
    } = this.options;
    const full = conductorMessageSchema.parse({
      ...message,
      instanceId,
      sentAt: Date.now(),
      epoch,
      seq: this.seq++,
    });
    const body = JSON.stringify(full);
    const id = await redis.xadd(
      stream,
      'MAXLEN',
      '~',
      String(maxLength),
      '*',
      'body',
      body,
      'sig',
      signBody(signingKey, body),
    );
    return id ?? '';
  }
}
