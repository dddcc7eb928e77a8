import 'server-only';

import { AppError } from '@coffer/contracts';
import { renameInstance, startFlavorResize, startVolumeResize } from '@coffer/db/domain/resize';
import { type Logger } from 'pino';
import { type z } from 'zod';

import { env } from '~/env';
import {
  type renameInstanceInputSchema,
  type resizeFlavorInputSchema,
  type resizeVolumeInputSchema,
} from '~/lib/resize-schemas';
import { publishChange } from '~/server/events';
import { domainDb, enqueueJob, heartbeatExpirySeconds } from '~/server/services/domain-db';
import { defaultQuotas } from '~/server/services/quota/quota';
import { type ProjectScopedDb } from '~/server/tenancy';
import { getInstance } from './instance-actions';
import { type InstanceView } from './instance-view';

/**
 * Resize and rename (issue 13): the domain's rules (`@coffer/db/domain/resize`: checks,
 * quota, the row RESIZING, the job), then the consoles are told. Another project's instance
 * is "not found", as everywhere.
 */

interface ResizeContext {
  db: ProjectScopedDb;
  projectId: string;
  log: Logger;
}

async function changed(ctx: ResizeContext, instanceIds: string[]): Promise<void> {
  for (const instanceId of instanceIds) {
    await publishChange({ type: 'instance.changed', projectId: ctx.projectId, instanceId });
  }
}

function logUnavailable(ctx: ResizeContext, error: unknown): void {
  if (error instanceof AppError && error.code === 'UNAVAILABLE')
    ctx.log.error({ err: error.cause }, 'could not queue instance.resize');
}

export async function resizeFlavor(
  ctx: ResizeContext,
  input: z.output<typeof resizeFlavorInputSchema>,
): Promise<InstanceView> {
  try {
    await startFlavorResize(
      domainDb(ctx.db),
      { projectId: ctx.projectId, instanceId: input.instanceId, flavorId: input.flavorId },
      { enqueue: enqueueJob, heartbeatExpirySeconds: heartbeatExpirySeconds() },
    );
  } catch (error) {
    logUnavailable(ctx, error);
    throw error;
  }
  ctx.log.info(
    { instanceId: input.instanceId, flavorId: input.flavorId },
    'flavor resize accepted',
  );
  await changed(ctx, [input.instanceId]);
  return getInstance(ctx, input.instanceId);
}

export async function resizeVolume(
  ctx: ResizeContext,
  input: z.output<typeof resizeVolumeInputSchema>,
): Promise<InstanceView> {
  if (input.volumeGb > env.COFFER_MAX_VOLUME_GB) {
    const message = `Volume size must be at most ${env.COFFER_MAX_VOLUME_GB} GB`;
    throw new AppError('BAD_REQUEST', message, {
      details: { fieldErrors: { volumeGb: [message] } },
    });
  }
  let resized: string[];
  try {
    resized = await startVolumeResize(
      domainDb(ctx.db),
      {
        projectId: ctx.projectId,
        instanceId: input.instanceId,
        volumeGb: input.volumeGb,
        includeReplicas: input.includeReplicas,
      },
      {
        enqueue: enqueueJob,
        heartbeatExpirySeconds: heartbeatExpirySeconds(),
        quotaDefaults: defaultQuotas(),
      },
    );
  } catch (error) {
    logUnavailable(ctx, error);
    throw error;
  }
  ctx.log.info({ instanceIds: resized, volumeGb: input.volumeGb }, 'volume resize accepted');
  await changed(ctx, resized);
  return getInstance(ctx, input.instanceId);
}

export async function renameOne(
  ctx: ResizeContext,
  input: z.output<typeof renameInstanceInputSchema>,
): Promise<InstanceView> {
  const isRenamed = await renameInstance(domainDb(ctx.db), {
    projectId: ctx.projectId,
    instanceId: input.instanceId,
    name: input.name,
  });
  if (isRenamed) {
    ctx.log.info({ instanceId: input.instanceId }, 'instance renamed');
    await changed(ctx, [input.instanceId]);
  }
  return getInstance(ctx, input.instanceId);
}
