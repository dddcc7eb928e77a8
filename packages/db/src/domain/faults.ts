import { type FaultCode } from '@coffer/contracts';

import { type Prisma } from '../index';

/**
 * An instance's fault, written the same way by every process: its message (what the tenant
 * reads), its details, its code (what code matches: `FAULT_CODES` in @coffer/contracts, or
 * null) and when it happened, always all four together. Every write of an instance's fault
 * spreads {@link faultFields} or {@link clearedFault} into its data, so no write can leave a
 * code behind that no longer describes the message (the conductor clears a fault by its code:
 * a stale VOLUME_FULL would let it clear another fault).
 */

export interface InstanceFault {
  /** What the tenant reads. */
  message: string;
  details?: string | null;
  /** Only for a fault that code must recognise; none otherwise. */
  code?: FaultCode | null;
}

/** The fault columns of an instance, as one write sets them. */
export interface InstanceFaultColumns {
  faultMessage: string | null;
  faultDetails: string | null;
  faultCode: FaultCode | null;
  faultAt: Date | null;
}

/** The columns that record `fault` on an instance (replacing any fault it had). */
export function faultFields(fault: InstanceFault, at: Date = new Date()): InstanceFaultColumns {
  return {
    faultMessage: fault.message,
    faultDetails: fault.details ?? null,
    faultCode: fault.code ?? null,
    faultAt: at,
  };
}

/** The columns of an instance without a fault. */
export function clearedFault(): InstanceFaultColumns {
  return { faultMessage: null, faultDetails: null, faultCode: null, faultAt: null };
}

/** Instances whose fault, if any, has not this code (a fault without a code included). */
export function notFaultCoded(code: FaultCode): Prisma.InstanceWhereInput {
  return { OR: [{ faultCode: null }, { NOT: { faultCode: code } }] };
}
