import { displayNameSchema } from '@coffer/contracts';
import { z } from 'zod';

/** Input rules of API tokens, shared by the token form (client) and the procedures (server). */

export const API_TOKEN_SCOPES = ['READ_ONLY', 'READ_WRITE'] as const;
export const apiTokenScopeSchema = z.enum(API_TOKEN_SCOPES, {
  error: 'Scope must be read-only or read-write',
});
export type ApiTokenScopeName = (typeof API_TOKEN_SCOPES)[number];

export const API_TOKEN_SCOPE_LABELS: Record<ApiTokenScopeName, string> = {
  READ_ONLY: 'Read-only',
  READ_WRITE: 'Read and write',
};

/** Expiry choices offered in the console, in days; the API accepts any whole number up to the maximum. */
export const API_TOKEN_EXPIRY_CHOICES = [7, 30, 90, 365] as const;
export const API_TOKEN_MAX_DAYS = 365;

export const createApiTokenInputSchema = z.object({
  name: displayNameSchema('Token name', 64),
  scope: apiTokenScopeSchema,
  expiresInDays: z
    .number({ error: 'Expiry is required' })
    .int('Expiry must be a whole number of days')
    .min(1, 'A token must live at least 1 day')
    .max(API_TOKEN_MAX_DAYS, `A token may live at most ${API_TOKEN_MAX_DAYS} days`),
});
