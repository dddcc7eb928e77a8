import 'server-only';

import { AppError, CofferError, type ErrorCode } from '@coffer/contracts';
import { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** The one table from Coffer's error codes to tRPC (and so HTTP) codes. */
export const TRPC_CODE_OF: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  QUOTA_EXCEEDED: 'FORBIDDEN',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

export function toTRPCError(error: CofferError): TRPCError {
  return new TRPCError({ code: TRPC_CODE_OF[error.code], message: error.message, cause: error });
}

/** The web app's name for contracts' `CofferError` (the same class, from any process). */
export { AppError };

/** An error about one field of the input: the form shows `message` under that field. */
export function fieldError(
  field: string,
  message: string,
  code: ErrorCode = 'BAD_REQUEST',
): AppError {
  return new AppError(code, message, { details: { fieldErrors: { [field]: [message] } } });
}

/**
 * The field errors a client receives for a failed call, by dotted path
 * (`{ 'users.0.name': ['User name is required'] }`): from input validation, or from a
 * CofferError that names fields (its `details.fieldErrors`, or else its one `field`, as a
 * taskmanager call's failure has it).
 */
export function fieldErrorsOf(cause: unknown): Record<string, string[]> | null {
  if (cause instanceof ZodError) {
    const fields: Record<string, string[]> = {};
    for (const issue of cause.issues)
      (fields[issue.path.join('.') || '_'] ??= []).push(issue.message);
    return fields;
  }
  if (cause instanceof CofferError) {
    if (cause.details?.fieldErrors) return cause.details.fieldErrors as Record<string, string[]>;
    if (cause.field !== undefined) return { [cause.field]: [cause.message] };
  }
  return null;
}
