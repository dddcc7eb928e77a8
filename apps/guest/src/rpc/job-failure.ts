import { CofferError, encodeFailureReason } from '@coffer/contracts';

/**
 * What a method's failure becomes on the wire. BullMQ keeps only a string for a failed job
 * (the thrown error's message), so the error travels as `encodeFailureReason`'s prefix and
 * JSON: a refusal (a `CofferError`) with its code and field, anything else as INTERNAL with
 * its message, the words the caller shows the tenant. The cause and stack stay here (logged).
 *
 * Guests before this wrote `CODE[field]: message` for a refusal and the bare message for
 * anything else; the control plane reads both for one release, while old guests run on.
 */
export function toJobFailure(error: unknown): Error {
  const failure =
    error instanceof CofferError
      ? error
      : new CofferError('INTERNAL', error instanceof Error ? error.message : String(error));
  return new Error(encodeFailureReason(failure), { cause: error });
}
