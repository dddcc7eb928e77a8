import { guestQueueName } from '@coffer/contracts';
import { Queue } from 'bullmq';

import { throwIfAborted } from '../events';
import { type OperationContext } from './operation';

/**
 * Removes an instance's server (guest, database server, files, volume) and its guest's RPC
 * queue: what a delete does, and what a failed restore does so that no half-made instance
 * stays behind. The server id is stored on the row once the server exists; before that (or
 * for a server a crashed create made), the provider is asked by instance. Then the guest's
 * own Redis user goes (guest-redis-access.ts). Idempotent.
 */
export async function removeServerAndGuestQueue(
  ctx: Omit<OperationContext, 'signal'> & { signal?: AbortSignal },
  instanceId: string,
  knownServerId: string | null,
): Promise<void> {
  const serverIds = new Set<string>();
  if (knownServerId) serverIds.add(knownServerId);
  for (const server of await ctx.provider.listServers()) {
    if (server.instanceId === instanceId) serverIds.add(server.serverId);
  }
  for (const serverId of serverIds) {
    throwIfAborted(ctx.signal);
    await ctx.provider.deleteServer(serverId);
    ctx.logger.info({ serverId }, 'server deleted');
  }

  throwIfAborted(ctx.signal);
  await ctx.guestAccess.removeUser(instanceId);
  const guestQueue = new Queue(guestQueueName(instanceId), { connection: ctx.redis });
  try {
    await guestQueue.obliterate({ force: true });
  } finally {
    await guestQueue.close();
  }
}
