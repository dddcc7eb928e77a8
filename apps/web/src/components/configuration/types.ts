import { type inferRouterOutputs } from '@trpc/server';

import { type AppRouter } from '~/server/api/root';

export type ConfigurationGroupView = inferRouterOutputs<AppRouter>['configuration']['get'];
export type EffectiveParameterView =
  inferRouterOutputs<AppRouter>['configuration']['effective'][number];
