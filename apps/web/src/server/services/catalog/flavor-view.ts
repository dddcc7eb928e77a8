import 'server-only';

import { type Prisma } from '@coffer/db';
import { z } from 'zod';

/** A flavor as tenants see it in the catalog (what can be ordered). */
export const flavorViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  vcpus: z.number(),
  ramMb: z.number(),
  defaultVolumeGb: z.number(),
  maxVolumeGb: z.number(),
});
export const flavorViewSelect = {
  id: true,
  name: true,
  vcpus: true,
  ramMb: true,
  defaultVolumeGb: true,
  maxVolumeGb: true,
} as const satisfies Prisma.FlavorSelect;
