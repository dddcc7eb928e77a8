import { z } from 'zod';

import { TenantFacingError } from '../../../errors';
import { ConfigOverrideError } from '../my-cnf';
import { ServerProcessError } from '../server-process';

/** What went wrong, in words a tenant can read (the server's own message when it has one). */
export function describeError(error: unknown): string {
  if (error instanceof ConfigOverrideError || error instanceof ServerProcessError)
    return error.message;
  if (error instanceof z.ZodError) return error.issues.map((issue) => issue.message).join('; ');
  const sqlMessage = (error as { sqlMessage?: unknown } | null)?.sqlMessage;
  if (typeof sqlMessage === 'string') return sqlMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Runs one step of prepare; a failure says, in the tenant's words, which step failed and why. */
export async function step<T>(description: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TenantFacingError) throw error;
    const reason = describeError(error);
    throw new TenantFacingError(
      `${description} failed: ${reason}`,
      error instanceof ServerProcessError ? error.details : undefined,
      {
        cause: error,
      },
    );
  }
}
