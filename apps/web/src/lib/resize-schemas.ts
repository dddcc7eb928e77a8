import { instanceNameSchema } from '@coffer/contracts';
import { z } from 'zod';

/** What a tenant sends to resize or rename an instance (the console's dialogs and scripts alike). */

const instanceId = z.uuid({ error: 'Instance not found' });

/** The largest volume anything may ask for; a flavor's maximum and the operator's setting bound it further. */
export const VOLUME_GB_CEILING = 16_384;

export const resizeFlavorInputSchema = z.object({
  instanceId,
  flavorId: z.uuid({ error: 'Choose a flavor' }),
});

export const resizeVolumeInputSchema = z.object({
  instanceId,
  volumeGb: z
    .number({ error: 'Volume size must be a number of GB' })
    .int('Volume size must be a whole number of GB')
    .min(1, 'Volume size must be at least 1 GB')
    .max(VOLUME_GB_CEILING, `Volume size must be at most ${VOLUME_GB_CEILING} GB`),
  /** Grow the instance's replicas (those smaller) to the same size too. */
  includeReplicas: z.boolean().default(false),
});

export const renameInstanceInputSchema = z.object({ instanceId, name: instanceNameSchema });

/** An operator's flavor (Admin → Flavors). */
const positiveInt = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(max, `${what} must be at most ${max}`);

export const flavorFieldsSchema = z.object({
  vcpus: positiveInt('vCPUs', 256),
  ramMb: positiveInt('RAM', 4 * 1024 * 1024),
  defaultVolumeGb: positiveInt('The default volume', VOLUME_GB_CEILING),
  maxVolumeGb: positiveInt('The maximum volume', VOLUME_GB_CEILING),
});

const flavorName = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(64, 'Name must be at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'Name may contain letters, digits, dots, dashes and underscores, and must start with a letter or digit',
  );

function defaultWithinMax(
  flavor: { defaultVolumeGb?: number; maxVolumeGb?: number },
  ctx: z.RefinementCtx,
) {
  if (
    flavor.defaultVolumeGb !== undefined &&
    flavor.maxVolumeGb !== undefined &&
    flavor.defaultVolumeGb > flavor.maxVolumeGb
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['defaultVolumeGb'],
      message: 'The default volume must not be larger than the maximum',
    });
  }
}

export const createFlavorInputSchema = flavorFieldsSchema
  .extend({ name: flavorName })
  .superRefine(defaultWithinMax);

export const updateFlavorInputSchema = flavorFieldsSchema
  .partial()
  .extend({ flavorId: z.uuid({ error: 'Flavor not found' }), isDisabled: z.boolean().optional() })
  .superRefine(defaultWithinMax);
