import { TRPCClientError } from '@trpc/client';

/** What a form shows for a failed mutation: the field errors and one message. */
export function describeError(error: unknown): {
  message: string;
  fieldErrors: Record<string, string[]>;
} {
  if (error instanceof TRPCClientError) {
    const data = error.data as
      { fieldErrors?: Record<string, string[]> | null; code?: string } | undefined;
    const fieldErrors = data?.fieldErrors ?? {};
    const message =
      Object.keys(fieldErrors).length > 0
        ? 'Please correct the highlighted fields.'
        : error.message;
    return { message, fieldErrors };
  }
  if (error instanceof Error) return { message: error.message, fieldErrors: {} };
  return { message: 'Something went wrong', fieldErrors: {} };
}
