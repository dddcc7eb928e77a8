import { CofferError, type GuestFailure, type GuestFailureCode } from '@coffer/contracts';

/**
 * The guest's errors. A refusal is a `CofferError` (contracts), which the RPC server sends to
 * the control plane as it is; any other failure of a method reaches it as its message only.
 */

/** A failure with a message written for the tenant (it becomes the instance's fault). */
export class TenantFacingError extends Error {
  constructor(
    message: string,
    /** The server's own words (a log's tail...), for the fault's details; never sent over RPC. */
    readonly details?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TenantFacingError';
  }
}

/** Work the guest stopped because it is stopping (not a failure of the work: nothing is reported). */
export class StoppedByShutdownError extends TenantFacingError {
  constructor(what: string) {
    super(`${what} was stopped: the guest is stopping.`);
    this.name = 'StoppedByShutdownError';
  }
}

/**
 * A method refused for a reason its caller can fix (the database exists, the user is not
 * there): the control plane reads it back (`decodeFailureReason`) into an error on the right
 * form field. Nothing was changed.
 */
export class RequestRefusedError extends CofferError<GuestFailureCode> {
  constructor({ code, message, field, details }: GuestFailure) {
    super(code, message, { field, details });
    this.name = 'RequestRefusedError';
  }
}
