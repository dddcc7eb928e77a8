import 'server-only';

import { randomUUID } from 'node:crypto';

import { type Prisma, type PrismaClient } from '@coffer/db';
import { type Logger } from 'pino';

/**
 * The audit trail of mutations, written by one tRPC middleware for every mutation (trpc.ts):
 * who (user, and the API token if one was used), in which project, what (the procedure
 * path), on which resource, the result, when. Inputs are never recorded (they may hold
 * passwords); only ids.
 */

/** Filled in while a call runs: the project middleware sets the project once membership is checked; a procedure may name its resource. */
export interface AuditTarget {
  projectId: string | null;
  resourceId: string | null;
  /**
   * What the action changed, when the procedure says (never secrets): by convention
   * `{ changes: [{ field, from, to }] }` and any other plain values; the audit log shows them.
   */
  details?: AuditDetails | null;
}

/** An audit event's details: JSON values; `changes` lists old and new values. */
export type AuditDetails = {
  changes?: {
    field: string;
    from: Prisma.InputJsonValue | null;
    to: Prisma.InputJsonValue | null;
  }[];
} & Record<string, Prisma.InputJsonValue | null | undefined>;

export interface AuditActor {
  userId: string;
  email: string;
  apiTokenId: string | null;
}

/** Input fields that name a request rather than a resource. */
const NOT_RESOURCE_KEYS = new Set(['projectId', 'requestId']);
const MAX_ID_LENGTH = 200;

function asId(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_ID_LENGTH) : null;
}

/**
 * The resource a mutation was about, when the procedure did not say: the `id` of what it
 * returned (a created instance, a changed membership), else the first `…Id` field of its
 * input (`instanceId`, `membershipId`, …).
 */
export function inferResourceId(rawInput: unknown, output: unknown): string | null {
  if (output && typeof output === 'object' && 'id' in output) {
    const id = asId((output as { id: unknown }).id);
    if (id) return id;
  }
  if (rawInput && typeof rawInput === 'object' && !Array.isArray(rawInput)) {
    for (const [key, value] of Object.entries(rawInput)) {
      if (key.endsWith('Id') && !NOT_RESOURCE_KEYS.has(key)) {
        const id = asId(value);
        if (id) return id;
      }
    }
  }
  return null;
}

export interface AuditEventInput {
  actor: AuditActor;
  target: AuditTarget;
  path: string;
  rawInput: unknown;
  output: unknown;
  /** "OK", or the tRPC error code. */
  result: string;
  errorCode: string | null;
  requestId: string;
}

/** Writes one audit event. A failure to write is logged; the mutation's own result stands. */
export async function recordAuditEvent(
  db: PrismaClient,
  log: Logger,
  event: AuditEventInput,
): Promise<void> {
  try {
    await db.auditEvent.create({
      data: {
        projectId: event.target.projectId,
        userId: event.actor.userId,
        actorEmail: event.actor.email,
        apiTokenId: event.actor.apiTokenId,
        path: event.path,
        resourceId: event.target.resourceId ?? inferResourceId(event.rawInput, event.output),
        result: event.result,
        errorCode: event.errorCode,
        // The client may name its request (x-request-id): keep it short.
        requestId: event.requestId.slice(0, MAX_ID_LENGTH),
        ...(event.target.details ? { details: event.target.details as Prisma.InputJsonValue } : {}),
      },
    });
  } catch (error) {
    log.error({ err: error, path: event.path }, 'audit: could not record a mutation');
  }
}

/**
 * An event of the sign-in side (password reset), which does not go through tRPC: the user it
 * was about, the action (e.g. "auth.resetPassword"), OK.
 */
export async function recordAuthEvent(
  db: PrismaClient,
  log: Logger,
  event: { user: { id: string; email: string }; path: string },
): Promise<void> {
  await recordAuditEvent(db, log, {
    actor: { userId: event.user.id, email: event.user.email, apiTokenId: null },
    target: { projectId: null, resourceId: null },
    path: event.path,
    rawInput: undefined,
    output: undefined,
    result: 'OK',
    errorCode: null,
    requestId: randomUUID(),
  });
}
