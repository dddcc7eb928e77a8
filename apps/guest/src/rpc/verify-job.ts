import {
  guestMethods,
  guestRpcBodySchema,
  guestRpcEnvelopeSchema,
  type GuestMethod,
  type GuestRpcBody,
} from '@coffer/contracts';
import { isValidSignature } from '@coffer/contracts/crypto';
import { z } from 'zod';

/**
 * Checks one RPC job before anything runs: the envelope's HMAC with this guest's signing
 * key, the instance id inside the signed body, the method, and its params. A guest only
 * obeys its own control plane, and only for itself.
 */

export type ParsedParams<M extends GuestMethod> = z.infer<(typeof guestMethods)[M]['params']>;

export type VerifiedCall = {
  [M in GuestMethod]: { method: M; params: ParsedParams<M>; body: GuestRpcBody };
}[GuestMethod];

export type Verification =
  { isValid: true; call: VerifiedCall } | { isValid: false; reason: string };

export function isGuestMethod(name: string): name is GuestMethod {
  return Object.hasOwn(guestMethods, name);
}

export function verifyRpcJob(
  job: { name: string; data: unknown },
  { instanceId, signingKey }: { instanceId: string; signingKey: Buffer },
): Verification {
  const envelope = guestRpcEnvelopeSchema.safeParse(job.data);
  if (!envelope.success) return { isValid: false, reason: 'malformed envelope' };
  if (!isValidSignature(signingKey, envelope.data.body, envelope.data.signature)) {
    return { isValid: false, reason: 'bad signature' };
  }
  let json: unknown;
  try {
    json = JSON.parse(envelope.data.body);
  } catch {
    return { isValid: false, reason: 'body is not JSON' };
  }
  const body = guestRpcBodySchema.safeParse(json);
  if (!body.success) return { isValid: false, reason: 'malformed body' };
  if (body.data.instanceId !== instanceId) {
    return { isValid: false, reason: `addressed to another instance (${body.data.instanceId})` };
  }
  const { method } = body.data;
  if (!isGuestMethod(method))
    return { isValid: false, reason: `unknown method ${JSON.stringify(method)}` };
  if (job.name !== method)
    return { isValid: false, reason: 'the job name does not match the signed method' };
  const params = guestMethods[method].params.safeParse(body.data.params);
  if (!params.success)
    return { isValid: false, reason: `invalid params: ${z.prettifyError(params.error)}` };
  return { isValid: true, call: { method, params: params.data, body: body.data } as VerifiedCall };
}
