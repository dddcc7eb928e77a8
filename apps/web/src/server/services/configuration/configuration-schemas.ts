import {
  configurationApplySchema,
  effectiveParameterSchema,
  configurationValueSchema,
  instanceNameSchema,
  MAX_CONFIGURATION_VALUES,
} from '@coffer/contracts';
import { z } from 'zod';

/** The configuration group procedures' inputs and outputs (issue 15). */

const valuesInput = z
  .record(z.string().max(64), configurationValueSchema)
  .refine((values) => Object.keys(values).length <= MAX_CONFIGURATION_VALUES, {
    message: `At most ${MAX_CONFIGURATION_VALUES} values`,
  });

export const createConfigurationGroupInputSchema = z.object({
  name: instanceNameSchema,
  description: z.string().max(500).optional(),
  datastoreVersionId: z.uuid(),
  values: valuesInput.default({}),
});

export const updateConfigurationGroupInputSchema = z.object({
  id: z.uuid(),
  name: instanceNameSchema.optional(),
  description: z.string().max(500).optional(),
  values: valuesInput.optional(),
});

export const configurationGroupIdInputSchema = z.object({ id: z.uuid() });
export const attachConfigurationGroupInputSchema = z.object({
  instanceId: z.uuid(),
  groupId: z.uuid(),
});
export const instanceIdInputSchema = z.object({ instanceId: z.uuid() });
export const createFromInstanceInputSchema = z.object({
  instanceId: z.uuid(),
  name: instanceNameSchema,
  description: z.string().max(500).optional(),
});

export const configurationGroupViewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  datastore: z.string(),
  datastoreVersion: z.string(),
  datastoreVersionId: z.uuid(),
  values: z.record(z.string(), configurationValueSchema),
  /** The instances that use it. */
  instances: z.array(z.object({ id: z.uuid(), name: z.string() })),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type ConfigurationGroupView = z.infer<typeof configurationGroupViewSchema>;

export const instanceConfigurationViewSchema = z.object({
  instanceId: z.uuid(),
  /** The instance's datastore version (a group must be of it). */
  datastoreVersionId: z.uuid(),
  group: z
    .object({
      id: z.uuid(),
      name: z.string(),
      values: z.record(z.string(), configurationValueSchema),
    })
    .nullable(),
  /** What the guest last reported: applied at once, reset, waiting for a restart, refused. */
  lastApply: configurationApplySchema.nullable(),
  /** The group (or its absence) has not been applied yet as it is now. */
  isApplyPending: z.boolean(),
});
export type InstanceConfigurationView = z.infer<typeof instanceConfigurationViewSchema>;

export const catalogParameterViewSchema = z.object({
  name: z.string(),
  type: z.string(),
  dynamic: z.boolean(),
  min: z.string().optional(),
  max: z.string().optional(),
  allowedValues: z.array(z.string()).optional(),
  default: z.string().nullable(),
  source: z.enum(['flavor', 'coffer']).optional(),
});

export const effectiveConfigurationViewSchema = z.array(effectiveParameterSchema);
