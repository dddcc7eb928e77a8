import { type inferRouterInputs, type inferRouterOutputs } from '@trpc/server';

import type { AppRouter } from '~/server/api/root';

/** The shapes of the metrics and alerts procedures (issue 16 parts 1 and 5), as the console reads them. */
type Outputs = inferRouterOutputs<AppRouter>;

export type MetricRange = NonNullable<inferRouterInputs<AppRouter>['metrics']['instance']['range']>;
export type InstanceMetrics = Outputs['metrics']['instance'];
export type MetricPoint = InstanceMetrics['points'][number];
export type SparkPoint = Outputs['metrics']['project'][number]['spark'][number];
export type InstanceAlert = Outputs['alerts']['instance'][number];
