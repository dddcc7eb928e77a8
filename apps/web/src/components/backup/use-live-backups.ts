'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';

import { useTRPC } from '~/trpc/react';

/**
 * Keeps the cached backup lists (the project's, and one instance's) and each cached backup
 * up to date from the server's SSE subscription: status and progress as the conductor
 * applies them, no polling.
 */
export function useLiveBackups(projectId: string, instanceId?: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useSubscription(
    trpc.backup.onChange.subscriptionOptions(
      { projectId, instanceId },
      {
        onData: ({ data: change }) => {
          const keys = [
            trpc.backup.list.queryKey({ projectId }),
            trpc.backup.list.queryKey({
              projectId,
              instanceId: change.type === 'changed' ? change.backup.instanceId : instanceId,
            }),
          ];
          if (change.type === 'changed') {
            const backup = change.backup;
            queryClient.setQueryData(
              trpc.backup.get.queryKey({ projectId, backupId: backup.id }),
              backup,
            );
            for (const key of keys) {
              queryClient.setQueryData(key, (list) => {
                if (!list) return list;
                const index = list.findIndex((item) => item.id === backup.id);
                if (index === -1) return [backup, ...list];
                const next = list.slice();
                next[index] = backup;
                return next;
              });
            }
          } else {
            for (const key of keys)
              queryClient.setQueryData(key, (list) =>
                list?.filter((item) => item.id !== change.backupId),
              );
          }
        },
      },
    ),
  );
}
