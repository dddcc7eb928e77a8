import { type inferRouterOutputs } from '@trpc/server';

import { type AppRouter } from '~/server/api/root';

export type BackupView = inferRouterOutputs<AppRouter>['backup']['list'][number];
export type BackupScheduleView = NonNullable<inferRouterOutputs<AppRouter>['backup']['schedule']>;
