import { type ConductorMessage, type EventPayload } from '@coffer/contracts';
import { type PrismaClient } from '@coffer/db';

import { type ChangePublisher } from '../events';
import { type Logger } from '../logger';

/**
 * Records what happened to an instance unasked (its server died and was restarted, it kept
 * dying: contracts `instanceEventKinds`) in its event timeline. An event is not a status: it
 * is recorded whatever the order it arrives in, and once only, keyed by the guest's send time
 * and sequence number (a message delivered twice, or claimed again after a crash, inserts
 * nothing the second time). Events of a deleted instance are dropped.
 */

export type EventApplyOutcome = { isApplied: true; projectId: string } | { isApplied: false };

export interface GuestEvent {
  instanceId: string;
  sentAt: number;
  seq: number;
  payload: EventPayload;
}

export async function applyInstanceEvent(
  prisma: PrismaClient,
  event: GuestEvent,
): Promise<EventApplyOutcome> {
  const instance = await prisma.instance.findFirst({
    where: { id: event.instanceId, deletedAt: null },
    select: { projectId: true },
  });
  if (!instance) return { isApplied: false };
  const { count } = await prisma.instanceEvent.createMany({
    data: {
      instanceId: event.instanceId,
      projectId: instance.projectId,
      kind: event.payload.kind,
      message: event.payload.message,
      guestSentAt: new Date(event.sentAt),
      guestSeq: BigInt(event.seq),
      actor: 'guest',
    },
    skipDuplicates: true,
  });
  return count > 0 ? { isApplied: true, projectId: instance.projectId } : { isApplied: false };
}

/** The conductor's side: record the event, log it, and tell the console (`instance.changed`). */
export async function applyEventMessage(
  deps: { prisma: PrismaClient; publisher: ChangePublisher; logger: Logger },
  message: Extract<ConductorMessage, { kind: 'event' }>,
): Promise<'applied' | 'unchanged'> {
  const outcome = await applyInstanceEvent(deps.prisma, message);
  if (!outcome.isApplied) return 'unchanged';
  deps.logger.info(
    {
      instanceId: message.instanceId,
      event: message.payload.kind,
      message: message.payload.message,
    },
    'conductor: instance event',
  );
  await deps.publisher.publish({
    type: 'instance.changed',
    projectId: outcome.projectId,
    instanceId: message.instanceId,
  });
  return 'applied';
}

/** An event the control plane itself observed (the watchdog restarting a guest): the timeline shows the watchdog as its cause. */
export async function recordInstanceEvent(
  prisma: PrismaClient,
  instance: { instanceId: string; projectId: string },
  payload: EventPayload,
): Promise<void> {
  await prisma.instanceEvent.create({
    data: {
      instanceId: instance.instanceId,
      projectId: instance.projectId,
      kind: payload.kind,
      message: payload.message,
      actor: 'watchdog',
    },
  });
}
