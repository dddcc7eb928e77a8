import {
  accessInputSchema,
  databaseNameSchema,
  databasePasswordSchema,
  initialDatabaseSchema,
  instanceNameSchema,
  userHostSchema,
  userNameSchema,
  volumeSizeSchema,
} from '@coffer/contracts';
import { z } from 'zod';

/** How many daily fulls a new instance's default backup schedule keeps (RDS keeps 7 days). */
export const DEFAULT_BACKUP_RETAIN_FULL_COUNT = 7;

/** What a tenant sends to create an instance (the console form and scripts alike). */
export const initialUserInputSchema = z.object({
  name: userNameSchema,
  host: userHostSchema.default('%'),
  password: databasePasswordSchema,
  databases: z.array(databaseNameSchema).max(20).default([]),
});

export const createInstanceInputSchema = z
  .object({
    name: instanceNameSchema,
    flavorId: z.uuid({ error: 'Choose a flavor' }),
    volumeSizeGb: volumeSizeSchema,
    /** The datastore version; the default version when left out. */
    datastoreVersionId: z.uuid().optional(),
    databases: z
      .array(initialDatabaseSchema)
      .max(20, 'At most 20 databases at create time')
      .default([]),
    users: z.array(initialUserInputSchema).max(20, 'At most 20 users at create time').default([]),
    /** An idempotency key: the same key twice creates one instance (a double submit). */
    requestId: z.uuid().optional(),
    /** Restore this completed backup of the project (with its chain) into the new instance, instead of starting empty. */
    restoreFromBackupId: z.uuid({ error: 'Backup not found' }).optional(),
    /** A configuration group of the project, for the instance's datastore version (issue 15): its values are in force from the first start. */
    configurationGroupId: z.uuid({ error: 'Configuration group not found' }).optional(),
    /** Allowed sources (Trove's access): private with no CIDRs when left out. */
    access: accessInputSchema.optional(),
    /**
     * Backups (on by default: a daily full, the last 7 kept, first in the operator's backup
     * window); `isEnabled: false` starts with no schedule. Changed later like any schedule.
     */
    backups: z
      .object({
        isEnabled: z.boolean().default(true),
        retainFullCount: z
          .number({ error: 'Say how many to keep' })
          .int()
          .min(1, 'Keep at least one full backup')
          .max(100, 'Keep at most 100 full backups')
          .default(DEFAULT_BACKUP_RETAIN_FULL_COUNT),
      })
      .optional(),
  })
  .superRefine((input, ctx) => {
    const databaseNames = new Set<string>();
    input.databases.forEach((database, index) => {
      if (databaseNames.has(database.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['databases', index, 'name'],
          message: 'Database names must be unique',
        });
      }
      databaseNames.add(database.name);
    });
    const userKeys = new Set<string>();
    input.users.forEach((user, index) => {
      const key = `${user.name}@${user.host}`;
      if (userKeys.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['users', index, 'name'],
          message: 'User names must be unique',
        });
      }
      userKeys.add(key);
      // Whether the host falls inside the allowed sources is the datastore's rule: the service
      // asks it once the datastore version is known (create-instance.ts).
      if (user.password.toLowerCase().includes(user.name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['users', index, 'password'],
          message: 'Password must not contain the user name',
        });
      }
      user.databases.forEach((name, dbIndex) => {
        if (!databaseNames.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['users', index, 'databases', dbIndex],
            message: `Database ${name} is not among the databases to create`,
          });
        }
      });
    });
  });
export type CreateInstanceInput = z.input<typeof createInstanceInputSchema>;
