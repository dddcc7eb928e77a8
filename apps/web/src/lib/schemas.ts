import { displayNameSchema } from '@coffer/contracts';
import { z } from 'zod';

import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './auth-rules';

/** Input rules of the console's own objects, shared by forms (client) and procedures (server). */

export const PROJECT_NAME_MAX = 64;
export const projectNameSchema = displayNameSchema('Project name', PROJECT_NAME_MAX);

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'An email address has at most 254 characters')
  .pipe(z.email({ error: 'Enter a valid email address' }));

export const accountPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `Password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `Password must be at most ${MAX_PASSWORD_LENGTH} characters`);

export const personNameSchema = displayNameSchema('Name', 100);

export const PROJECT_ROLES = ['OWNER', 'MEMBER', 'VIEWER'] as const;
export const projectRoleSchema = z.enum(PROJECT_ROLES, {
  error: 'Role must be owner, member or viewer',
});

export const ROLE_LABELS: Record<(typeof PROJECT_ROLES)[number], string> = {
  OWNER: 'Owner',
  MEMBER: 'Member',
  VIEWER: 'Viewer',
};

export const signUpSchema = z.object({
  name: personNameSchema,
  email: emailSchema,
  password: accountPasswordSchema,
});
