import { randomBytes } from 'node:crypto';

import { type ConductorMessage } from '@coffer/contracts';
import { generateGuestSecret, guestKeys, signBody } from '@coffer/contracts/crypto';
import { type PrismaClient } from '@coffer/db';

import { Conductor } from '../src/conductor/conductor';
import { loadWorkerEnv } from '../src/env';
import { ChangePublisher } from '../src/events';
import { sealGuestSecret } from '../src/guest-secret';
import { buildSettings, type WorkerTuning } from '../src/settings';
import { MASTER_KEY, type WorkerTestContext } from './harness';

/** Instance rows with guest keys, and messages signed as their guests sign them, for the conductor's tests. */

export interface Guest {
  instanceId: string;
  secret: string;
  /** The guest's boot epoch and its last sequence number, as the row has them. */
  epoch: number;
  seq: number;
}

/** An ACTIVE, RUNNING instance row with its sealed guest secret, at epoch 3, seq 10. */
export async function createConductorGuest(ctx: WorkerTestContext): Promise<Guest> {
  const secret = generateGuestSecret();
  const row = await ctx.prisma.instance.create({
    data: {
      projectId: ctx.projectId,
      name: `conductor-${randomBytes(3).toString('hex')}`,
      flavorId: ctx.flavorId,
      datastoreVersionId: ctx.versionId,
      volumeSizeGb: 1,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      guestVersion: '0.1.0',
      lastHeartbeatAt: new Date(),
      lastEpoch: 3n,
      lastSeq: 10n,
      lastSentAt: new Date(),
    },
  });
  await ctx.prisma.instance.update({
    where: { id: row.id },
    data: { guestSecretEnc: sealGuestSecret(MASTER_KEY, row.id, secret) },
  });
  return { instanceId: row.id, secret, epoch: 3, seq: 10 };
}

/** The guest's next heartbeat (its seq counted up), SHUTDOWN unless told otherwise. */
export function heartbeat(
  guest: Guest,
  overrides: Partial<ConductorMessage> & { serviceStatus?: string } = {},
): Record<string, unknown> {
  const { serviceStatus = 'SHUTDOWN', ...rest } = overrides;
  guest.seq++;
  return {
    kind: 'heartbeat',
    instanceId: guest.instanceId,
    sentAt: Date.now(),
    epoch: guest.epoch,
    seq: guest.seq,
    payload: { serviceStatus, guestVersion: '0.1.0', serverVersion: '10.11.19' },
    ...rest,
  };
}

/** Adds an entry to `stream` as a guest would: `body` and its HMAC `sig` with `signingSecret`'s signing key. */
export async function sendAsGuest(
  ctx: WorkerTestContext,
  message: Record<string, unknown> | string,
  signingSecret: string,
  stream: string,
): Promise<string> {
  const body = typeof message === 'string' ? message : JSON.stringify(message);
  const id = await ctx.redis.xadd(
    stream,
    '*',
    'body',
    body,
    'sig',
    signBody(guestKeys(signingSecret).signing, body),
  );
  return id!;
}

/** `prisma`, counting the conductor's statements: one-by-one instance writes, and raw (batch) ones. */
export function countingPrisma(prisma: PrismaClient): {
  client: PrismaClient;
  calls: { oneByOne: number; batch: number };
} {
  const calls = { oneByOne: 0, batch: 0 };
  const counted = <T extends object>(target: T, property: string, count: () => void) =>
    new Proxy(target, {
      get(object, name) {
        const value: unknown = Reflect.get(object, name);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(object);
        if (name !== property) return bound;
        return (...args: unknown[]) => {
          count();
          return bound(...args);
        };
      },
    });
  const instance = counted(prisma.instance, 'updateManyAndReturn', () => calls.oneByOne++);
  const client = new Proxy(
    counted(prisma, '$queryRaw', () => calls.batch++),
    {
      get: (object, name) => (name === 'instance' ? instance : Reflect.get(object, name)),
    },
  );
  return { client, calls };
}

/**
 * A conductor of its own on `stream` (not started), over `prisma` (a proxy that counts or holds
 * statements back, say), with the test's names and `tuning` over a short XREADGROUP block.
 */
export function testConductor(
  ctx: WorkerTestContext,
  {
    stream,
    prisma = ctx.prisma,
    publisher = new ChangePublisher(ctx.redis, ctx.names.eventsChannel, ctx.logger),
    tuning = {},
  }: {
    stream: string;
    prisma?: PrismaClient;
    publisher?: ChangePublisher;
    tuning?: Partial<WorkerTuning>;
  },
): Conductor {
  return new Conductor({
    prisma,
    redis: ctx.redis,
    blockingConnection: ctx.redis.duplicate(),
    publisher,
    settings: buildSettings(
      loadWorkerEnv(ctx.workerEnv()),
      { ...ctx.names, conductorStream: stream },
      { conductorBlockMs: 100, ...tuning },
    ),
    logger: ctx.logger,
  });
}
