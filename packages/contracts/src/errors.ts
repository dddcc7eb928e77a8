import { z } from 'zod';

/**
 * The error codes every process uses. The web app maps each to one tRPC/HTTP code in one
 * table; workers put them on faults; the console shows their messages.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * What kind of fault an instance holds (its `faultCode`, beside the message the tenant reads),
 * for code that must recognise a fault: match the code, never the message's text. A fault
 * nothing needs to recognise has no code (null). The API shows it as the instance's
 * `faultCode`.
 *
 * - `VOLUME_FULL`: the volume is full and the server refuses writes (a heartbeat's
 *   `volume.fault`); the conductor clears it, and only it, once a beat says the volume has
 *   room again.
 */
export const FAULT_CODES = ['VOLUME_FULL'] as const;
export const faultCodeSchema = z.enum(FAULT_CODES);
export type FaultCode = (typeof FAULT_CODES)[number];

/** A field names the input the error is about, as a dotted path (`name`, `users.0.name`). */
const FIELD_PATTERN = /^[A-Za-z0-9_.]+$/;

/**
 * What a {@link CofferError} becomes when it leaves its process (a job's result or failure
 * reason). The cause and the stack never travel: they may hold what only the thrower should see.
 */
export const cofferErrorJSONSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** The input the failure is about, when there is one (becomes a form's field error). */
  field: z.string().max(200).regex(FIELD_PATTERN).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type CofferErrorJSON<C extends ErrorCode = ErrorCode> = Omit<
  z.infer<typeof cofferErrorJSONSchema>,
  'code'
> & { code: C };

export interface CofferErrorOptions {
  field?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An expected failure with a message fit for the user who caused it: the one error type of
 * every process (web, worker, guest). It crosses a process boundary as its JSON form
 * ({@link CofferError.toJSON}, read back with {@link CofferError.fromJSON}).
 */
export class CofferError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly field?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: C, message: string, options?: CofferErrorOptions) {
    super(message, { cause: options?.cause });
    this.name = 'CofferError';
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
    if (options?.details !== undefined) this.details = options.details;
  }

  toJSON(): CofferErrorJSON<C> {
    return {
      code: this.code,
      message: this.message,
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }

  static isCofferErrorJSON(value: unknown): value is CofferErrorJSON {
    return cofferErrorJSONSchema.safeParse(value).success;
  }

  /** Reads an error back from its JSON form; throws a ZodError when `value` is not one. */
  static fromJSON(value: unknown): CofferError {
    const { code, message, field, details } = cofferErrorJSONSchema.parse(value);
    return new CofferError(code, message, { field, details });
  }
}

/**
 * The web app's name for the same class: its services throw `AppError`, and `instanceof
 * AppError` holds for every CofferError, whichever process made it.
 */
export { CofferError as AppError };

export function isCofferError(error: unknown): error is CofferError {
  return error instanceof CofferError;
}
export { isCofferError as isAppError };

/**
 * A failed BullMQ job keeps only a string (its reason), so an error travels in it as this
 * prefix and its JSON form.
 */
export const FAILURE_REASON_PREFIX = 'CofferError ';

export function encodeFailureReason(error: CofferError): string {
  return `${FAILURE_REASON_PREFIX}${JSON.stringify(error.toJSON())}`;
}

/**
 * The form guests wrote before the JSON one: `<CODE>[<field>]: <message>`, refusals only.
 * Still read for one release, so a guest running the old build while the control plane is
 * upgraded keeps its refusals on the right field; remove it in the release after.
 */
const LEGACY_GUEST_REASON =
  /^(BAD_REQUEST|NOT_FOUND|CONFLICT)(?:\[([A-Za-z0-9_.]+)\])?: ([\s\S]*)$/;

/**
 * The error a failed job's reason carries, or null when it carries none (a plain message:
 * the process's own trouble, or a prefixed reason that is not a valid error).
 */
export function decodeFailureReason(reason: string): CofferError | null {
  if (reason.startsWith(FAILURE_REASON_PREFIX)) {
    let json: unknown;
    try {
      json = JSON.parse(reason.slice(FAILURE_REASON_PREFIX.length));
    } catch {
      return null;
    }
    return CofferError.isCofferErrorJSON(json) ? CofferError.fromJSON(json) : null;
  }
  const legacy = LEGACY_GUEST_REASON.exec(reason);
  if (!legacy) return null;
  return new CofferError(legacy[1] as ErrorCode, legacy[3]!, { field: legacy[2] });
}
