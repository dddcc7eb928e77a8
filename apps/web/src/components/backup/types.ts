import { type inferRouterOutputs } from '@trpc/server';

import { type AppRouter } from '~/server/api/root';

export type BackupView = inferRouterOutputs<AppRouter>['backup']['list'][number];
export type BackupScheduleView = NonNullable<inferRouterOutputs<AppRouter>['backup']['schedule']>;

/** A dialog about one backup of a project: open while there is one. */
export interface BackupDialogProps {
  projectId: string;
  backup: BackupView | null;
  onClose: () => void;
}
