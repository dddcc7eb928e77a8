import {
  databaseNameSchema,
  databasePasswordSchema,
  databaseSpecSchema,
  userHostSchema,
  userNameSchema,
} from '@coffer/contracts';
import { z } from 'zod';

/**
 * What a tenant sends to manage the databases, users and root of an instance (the console's
 * forms and scripts alike). Field names match the guest's params, so a refusal from the
 * server lands on the same form field as a validation error.
 */

export const MAX_GRANTS_AT_ONCE = 100;

/** A database to create: a name, optionally a character set and one of its collations. */
export const createDatabaseInputSchema = databaseSpecSchema;

export const databaseRefInputSchema = z.object({ name: databaseNameSchema });

/** Names one account: `name`@`host`. */
export const accountInputSchema = z.object({ name: userNameSchema, host: userHostSchema });

function passwordMentionsName(password: string | undefined, name: string): boolean {
  return password !== undefined && password.toLowerCase().includes(name.toLowerCase());
}

export const createUserInputSchema = z
  .object({
    name: userNameSchema,
    host: userHostSchema.default('%'),
    password: databasePasswordSchema,
    databases: z.array(databaseNameSchema).max(MAX_GRANTS_AT_ONCE).default([]),
  })
  .superRefine((user, ctx) => {
    if (passwordMentionsName(user.password, user.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'Password must not contain the user name',
      });
    }
  });

/** A new host and/or a new password (Trove's update_attributes). */
export const updateUserInputSchema = accountInputSchema
  .extend({ newHost: userHostSchema.optional(), newPassword: databasePasswordSchema.optional() })
  .superRefine((change, ctx) => {
    if (change.newHost === undefined && change.newPassword === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['newHost'],
        message: 'Choose a new host or a new password',
      });
    }
    if (change.newHost === change.host) {
      ctx.addIssue({
        code: 'custom',
        path: ['newHost'],
        message: 'This is the host the user already has',
      });
    }
    if (passwordMentionsName(change.newPassword, change.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['newPassword'],
        message: 'Password must not contain the user name',
      });
    }
  });

export const grantAccessInputSchema = accountInputSchema.extend({
  databases: z
    .array(databaseNameSchema)
    .min(1, 'Choose at least one database')
    .max(MAX_GRANTS_AT_ONCE, `At most ${MAX_GRANTS_AT_ONCE} databases at once`),
});

export const revokeAccessInputSchema = accountInputSchema.extend({ database: databaseNameSchema });

/** The instance whose databases, users or root a call is about. */
export const instanceRefInputSchema = z.object({
  instanceId: z.uuid({ error: 'Instance not found' }),
});
