'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';

import { useTRPC } from '~/trpc/react';

/**
 * Keeps the cached instance list (and each cached instance) of a project up to date from the
 * server's SSE subscription: the conductor's changes arrive as they happen, no polling.
 */
export function useLiveInstances(projectId: string, options: { instanceId?: string; onDeleted?: (instanceId: string) => void } = {}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const listKey = trpc.instance.list.queryKey({ projectId });
  return useSubscription(
    trpc.instance.onChange.subscriptionOptions(
      { projectId, instanceId: options.instanceId },
      {
        onData: ({ data: change }) => {
          if (change.type === 'changed') {
            const instance = change.instance;
            queryClient.setQueryData(trpc.instance.get.queryKey({ projectId, instanceId: instance.id }), instance);
            queryClient.setQueryData(listKey, (list) => {
              if (!list) return list;
              const index = list.findIndex((item) => item.id === instance.id);
              if (index === -1) return [instance, ...list];
              const next = list.slice();
              next[index] = instance;
              return next;
            });
          } else {
            queryClient.setQueryData(listKey, (list) => list?.filter((item) => item.id !== change.instanceId));
            options.onDeleted?.(change.instanceId);
          }
        },
      },
    ),
  );
}
