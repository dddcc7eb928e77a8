import { z } from 'zod';

import { configurationValueSchema } from './validate';

/**
 * Applying a configuration group (issue 15): the taskmanager's `configuration.apply` job
 * sends the instance's values (its group's, or none once detached) to the guest's
 * `apply_configuration`, which writes them into the overrides of the server's config file
 * (atomically), applies the dynamic ones with SET GLOBAL (a value the server refuses is rolled
 * back, and named), and says which static ones wait for a restart; the instance then shows
 * RESTART_REQUIRED until its server restarts.
 */

export const configurationApplyJobSchema = z.object({ instanceId: z.uuid() });
export type ConfigurationApplyJob = z.infer<typeof configurationApplyJobSchema>;

export const configurationFailureSchema = z.object({
  name: z.string(),
  /** The server's or the guest's words. */
  reason: z.string(),
});

export const configurationApplyResultSchema = z.object({
  /** Dynamic values set at once (SET GLOBAL). */
  applied: z.array(z.string()),
  /** Values no longer overridden: back to Coffer's or the server's own. */
  reset: z.array(z.string()),
  /** Static values written to the config file: they take effect at the next restart. */
  pendingRestart: z.array(z.string()),
  /** Values the server refused: rolled back on this instance (not in the config file either). */
  failed: z.array(configurationFailureSchema),
});
export type ConfigurationApplyResult = z.infer<typeof configurationApplyResultSchema>;

/** What an instance keeps of its last apply (Instance.configurationApply). */
export const configurationApplySchema = configurationApplyResultSchema.extend({
  /** When it was applied (ISO 8601). */
  at: z.string(),
  groupId: z.uuid().nullable(),
  /** The group's updatedAt that was applied (ISO 8601), null without a group. */
  groupUpdatedAt: z.string().nullable(),
});
export type ConfigurationApply = z.infer<typeof configurationApplySchema>;

/** One parameter in force on an instance, and where its value comes from. */
export const effectiveParameterSchema = z.object({
  name: z.string(),
  /** As the server reports it now (SHOW GLOBAL VARIABLES). */
  value: z.string().nullable(),
  /** default: the server's own; flavor / coffer: the line Coffer writes; group: the configuration group's. */
  source: z.enum(['default', 'flavor', 'coffer', 'group']),
  dynamic: z.boolean(),
  /** Changed in the config file since the server started: in force after the restart. */
  isRestartPending: z.boolean(),
});
export type EffectiveParameter = z.infer<typeof effectiveParameterSchema>;
export const effectiveConfigurationSchema = z.object({
  parameters: z.array(effectiveParameterSchema),
});

export const configurationGuestMethods = {
  /**
   * Makes `values` the server's overrides (replacing those applied before: a name missing
   * now is reset): written to its config file, dynamic ones set at once. Values are
   * re-checked against the guest's own catalogue; an invalid one refuses the whole call
   * (BAD_REQUEST) and nothing changes.
   */
  apply_configuration: {
    params: z.object({ values: z.record(z.string(), configurationValueSchema) }),
    result: configurationApplyResultSchema,
  },
  /** Every catalogue parameter in force, its source, and whether a restart is pending for it. */
  get_configuration: {
    params: z.object({}),
    result: effectiveConfigurationSchema,
  },
} as const;
