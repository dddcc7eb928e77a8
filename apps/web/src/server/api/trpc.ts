import 'server-only';

import { randomUUID } from 'node:crypto';

import { AppError, CofferError, findUnsafeInput, type ErrorCode } from '@coffer/contracts';
import { type ProjectRole } from '@coffer/db';
import { initTRPC } from '@trpc/server';
import { type Redis } from 'ioredis';
import { type Logger } from 'pino';
import SuperJSON from 'superjson';
import { z } from 'zod';

import { env } from '~/env';
import { auth } from '~/server/auth';
import { db as defaultDb } from '~/server/db';
import { fieldErrorsOf, toTRPCError } from '~/server/errors';
import { logger as rootLogger } from '~/server/logger';
import { consumeRateLimit, describeRetryAfter, type RateLimitRule } from '~/server/rate-limit';
import { getRedis } from '~/server/redis';
import {
  authenticateApiToken,
  bearerTokenOf,
  type ApiTokenIdentity,
} from '~/server/services/api-token/authenticate-api-token';
import { recordAuditEvent, type AuditTarget } from '~/server/services/audit/record-audit-event';
import { resolveProjectAccess, scopeToProject } from '~/server/tenancy';

/**
 * The one tRPC setup: context, error formatter, and the base procedures every router uses.
 *
 *   publicProcedure     anyone
 *   protectedProcedure  a signed-in user
 *   projectProcedure    a member of `input.projectId` (or an operator, read-only: tenancy.ts);
 *                       ctx.db is scoped to that project
 *   projectWriteProcedure  an owner or member (viewers cannot mutate)
 *   projectOwnerProcedure  an owner
 *   projectSessionProcedure  a member signed in to the console (not an API token)
 *   adminProcedure      an operator
 *
 * A caller is a session (the console) or an API token (`Authorization: Bearer cof_…`): a
 * token acts as its user inside its own project only (any other project is NOT_FOUND;
 * calls outside a project that change something are FORBIDDEN), and a read-only token
 * cannot call mutations. Every signed-in call counts against the API rate limit, and every
 * mutation leaves an audit event.
 */

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

export interface ContextDeps {
  db: typeof defaultDb;
  /** Resolves the signed-in user of a request; tests pass their own. */
  getUser: (headers: Headers) => Promise<SessionUser | null>;
  /** Calls per user (or token) and window; default: the settings. */
  apiRateLimit?: RateLimitRule;
  /** Calls per client address and window to `addressLimitedProcedure`s; default: the sign-in settings. */
  publicRateLimit?: RateLimitRule;
  /** Where rate-limit counters live; default: the process's Redis connection. */
  getRedis?: () => Redis;
  /** The logger request loggers are children of; default: the web app's. */
  logger?: Logger;
}

async function getSessionUser(headers: Headers): Promise<SessionUser | null> {
  const session = await auth.api.getSession({ headers });
  if (!session) return null;
  return { id: session.user.id, email: session.user.email, name: session.user.name };
}

const defaultDeps: ContextDeps = { db: defaultDb, getUser: getSessionUser };

const defaultApiRateLimit: RateLimitRule = {
  max: env.COFFER_API_RATE_LIMIT_MAX,
  windowSeconds: env.COFFER_API_RATE_LIMIT_WINDOW_SECONDS,
};

const defaultPublicRateLimit: RateLimitRule = {
  max: env.COFFER_SIGN_IN_RATE_LIMIT_MAX,
  windowSeconds: env.COFFER_SIGN_IN_RATE_LIMIT_WINDOW_SECONDS,
};

/** A proxy's request id when it is a plain token, else a new one (it goes into logs and answers). */
function requestIdOf(headers: Headers): string {
  const given = headers.get('x-request-id');
  return given && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
}

export async function createTRPCContext(
  opts: { headers: Headers },
  deps: ContextDeps = defaultDeps,
) {
  let user: SessionUser | null = null;
  let apiToken: ApiTokenIdentity | null = null;
  /** Why a bearer token was refused (the UNAUTHORIZED message). */
  let authError: string | null = null;
  const bearer = bearerTokenOf(opts.headers);
  if (bearer !== null) {
    // A request with a token is that token's, whatever cookies come along.
    const outcome = await authenticateApiToken(deps.db, bearer);
    if (outcome.kind === 'valid') ({ user, token: apiToken } = outcome);
    else authError = outcome.message;
  } else {
    user = await deps.getUser(opts.headers);
  }
  const requestId = requestIdOf(opts.headers);
  const log = (deps.logger ?? rootLogger).child({
    requestId,
    userId: user?.id,
    apiTokenId: apiToken?.id,
    source: opts.headers.get('x-trpc-source') ?? 'http',
  });
  const audit: AuditTarget = { projectId: null, resourceId: null };
  return {
    db: deps.db,
    user,
    apiToken,
    authError,
    log,
    headers: opts.headers,
    requestId,
    audit,
    apiRateLimit: deps.apiRateLimit ?? defaultApiRateLimit,
    publicRateLimit: deps.publicRateLimit ?? defaultPublicRateLimit,
    getRedis: deps.getRedis ?? getRedis,
  };
}

export type Context = Awaited<ReturnType<typeof createTRPCContext>>;

/** Unexpected errors already logged with their request (by `errorMapping`), so each is logged once. */
const loggedErrors = new WeakSet<object>();

/**
 * What a client is told. An expected failure (a CofferError, or bad input) carries its message
 * and field errors; anything else is INTERNAL_SERVER_ERROR with a generic message and the
 * request id, and the real error (Prisma's, a bug's) is logged with that id, never sent.
 */
const t = initTRPC.context<Context>().create({
  transformer: SuperJSON,
  errorFormatter({ shape, error, ctx, path, type }) {
    const cause = error.cause;
    const requestId = ctx?.requestId ?? randomUUID();
    const isExpected = cause instanceof CofferError || error.code !== 'INTERNAL_SERVER_ERROR';
    if (!isExpected) {
      if (!loggedErrors.has(error)) {
        (ctx?.log ?? rootLogger.child({ requestId })).error(
          { err: cause ?? error, path, type },
          'request failed',
        );
      }
      return {
        ...shape,
        message: `Something went wrong on Coffer's side. If it keeps happening, tell your operator the request id ${requestId}.`,
        data: {
          ...shape.data,
          requestId,
          fieldErrors: null,
          appCode: null,
          retryAfterSeconds: null,
          stack: undefined,
        },
      };
    }
    return {
      ...shape,
      data: {
        ...shape.data,
        requestId,
        // Field errors for forms: { fieldName: ['message', ...] }.
        fieldErrors: fieldErrorsOf(cause),
        appCode: cause instanceof CofferError ? cause.code : null,
        /** For TOO_MANY_REQUESTS: when to try again. */
        retryAfterSeconds: retryAfterOf(cause),
        // Never leak stack traces.
        stack: undefined,
      },
    };
  },
});

function retryAfterOf(cause: unknown): number | null {
  const value = cause instanceof CofferError ? cause.details?.retryAfterSeconds : undefined;
  return typeof value === 'number' ? value : null;
}

/** `Retry-After` for a response that carries a rate-limit error (for the HTTP handler's responseMeta). */
export function retryAfterHeaders(errors: readonly { cause?: unknown }[]): Record<string, string> {
  const seconds = Math.max(0, ...errors.map((error) => retryAfterOf(error.cause) ?? 0));
  return seconds > 0 ? { 'Retry-After': String(seconds) } : {};
}

export const createCallerFactory = t.createCallerFactory;
export const createTRPCRouter = t.router;

/** Turns expected failures into their tRPC codes, and logs the unexpected ones. */
const errorMapping = t.middleware(async ({ next, path, type, ctx }) => {
  const started = performance.now();
  const result = await next();
  ctx.log.debug(
    { path, type, ok: result.ok, ms: Math.round(performance.now() - started) },
    'procedure',
  );
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof CofferError) return { ...result, error: toTRPCError(cause) };
  if (result.error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ err: cause ?? result.error, path, type }, 'procedure failed');
    loggedErrors.add(result.error);
  }
  return result;
});

/**
 * Every string of every input, whatever the procedure's own schema says (or forgets): no NUL,
 * no unpaired surrogate, a sane length and depth. Such text would otherwise reach PostgreSQL
 * (which refuses NUL with an internal error) or a guest.
 */
const rejectUnsafeInput = t.middleware(async ({ next, getRawInput }) => {
  const unsafe = findUnsafeInput(await getRawInput());
  if (unsafe) {
    throw toTRPCError(
      new AppError('BAD_REQUEST', unsafe.message, {
        details: { fieldErrors: { [unsafe.path]: [unsafe.message] } },
      }),
    );
  }
  return next();
});

/**
 * The audit trail, kept once for every mutation, present and future: who, which project
 * (set by the project middleware once membership is checked), what, which resource, the
 * result. Calls nobody signed in for, and calls refused by the rate limit, are not
 * recorded: they did nothing, and recording them would let anyone fill the log.
 */
const auditMutations = t.middleware(async ({ ctx, type, path, next, getRawInput }) => {
  if (type !== 'mutation') return next();
  const result = await next();
  const errorCode = result.ok ? null : result.error.code;
  if (!ctx.user || errorCode === 'TOO_MANY_REQUESTS') return result;
  const cause = result.ok ? null : result.error.cause;
  await recordAuditEvent(ctx.db, ctx.log, {
    actor: { userId: ctx.user.id, email: ctx.user.email, apiTokenId: ctx.apiToken?.id ?? null },
    target: ctx.audit,
    path,
    rawInput: await getRawInput().catch(() => undefined),
    output: result.ok ? result.data : undefined,
    result: errorCode ?? 'OK',
    errorCode: cause instanceof CofferError ? cause.code : null,
    requestId: ctx.requestId,
  });
  return result;
});

export const publicProcedure = t.procedure
  .use(auditMutations)
  .use(errorMapping)
  .use(rejectUnsafeInput);

function fail(code: ErrorCode, message: string): never {
  throw toTRPCError(new AppError(code, message));
}

/** Counts a call against `key`; over `rule`, it fails TOO_MANY_REQUESTS saying when to retry. */
async function enforceRateLimit(ctx: Context, key: string, rule: RateLimitRule): Promise<void> {
  const limit = await consumeRateLimit(ctx.getRedis(), key, rule);
  if (limit.isAllowed) return;
  throw toTRPCError(
    new AppError(
      'RATE_LIMITED',
      `Too many requests: try again in ${describeRetryAfter(limit.retryAfterSeconds)}`,
      { details: { retryAfterSeconds: limit.retryAfterSeconds } },
    ),
  );
}

/**
 * A public procedure that looks a secret up (an invitation link's token): calls are counted
 * per client address with the sign-in limits, as sign-in and password reset are, so guessing
 * tokens costs what guessing passwords does. The console's server leaves exactly one address
 * in X-Forwarded-For (server/http/client-address.ts); the server components' calls carry
 * their request's.
 */
export const addressLimitedProcedure = publicProcedure.use(async ({ ctx, path, next }) => {
  const address = ctx.headers.get('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown';
  await enforceRateLimit(ctx, `public:${path}:${address}`, ctx.publicRateLimit);
  return next();
});

function projectIdOf(rawInput: unknown): string | undefined {
  if (!rawInput || typeof rawInput !== 'object' || !('projectId' in rawInput)) return undefined;
  const { projectId } = rawInput as { projectId: unknown };
  return typeof projectId === 'string' ? projectId : '';
}

export const protectedProcedure = publicProcedure.use(async ({ ctx, next, type, getRawInput }) => {
  if (!ctx.user) fail('UNAUTHORIZED', ctx.authError ?? 'Sign in to continue');

  const limitKey = ctx.apiToken ? `api:token:${ctx.apiToken.id}` : `api:user:${ctx.user.id}`;
  await enforceRateLimit(ctx, limitKey, ctx.apiRateLimit);

  if (ctx.apiToken) {
    // A token's calls are its project's business (its owners see them in the audit log).
    ctx.audit.projectId = ctx.apiToken.projectId;
    // A token lives inside its project: another project does not exist for it, and nothing
    // outside a project may be changed with it.
    const projectId = projectIdOf(await getRawInput());
    if (projectId === undefined) {
      if (type === 'mutation')
        fail('FORBIDDEN', 'An API token can only make changes inside its own project');
    } else if (projectId !== ctx.apiToken.projectId) {
      fail('NOT_FOUND', 'Project not found');
    }
    if (type === 'mutation' && ctx.apiToken.scope === 'READ_ONLY')
      fail('FORBIDDEN', 'This API token is read-only');
  }
  return next({ ctx: { ...ctx, user: ctx.user } });
});

export const projectInput = z.object({ projectId: z.uuid({ error: 'Project not found' }) });

export const projectProcedure = protectedProcedure
  .input(projectInput)
  .use(async ({ ctx, input, next, type }) => {
    // Members, and operators read-only (tenancy.ts); anyone else: as if it did not exist.
    const access = await resolveProjectAccess(
      ctx.db,
      { userId: ctx.user.id, apiTokenProjectId: ctx.apiToken?.projectId ?? null },
      input.projectId,
    );
    if (!access) fail('NOT_FOUND', 'Project not found');
    // Whatever the procedure: an operator who is not a member changes nothing here.
    if (access.via === 'operator' && type === 'mutation')
      fail('FORBIDDEN', 'Operators see other projects read-only; use the Admin tools to act');
    ctx.audit.projectId = access.project.id;
    const db = scopeToProject(ctx.db, access.project.id);
    const log = ctx.log.child({ projectId: access.project.id });
    return next({
      ctx: {
        ...ctx,
        project: access.project,
        role: access.role as ProjectRole,
        /** `operator`: an operator who is not a member, reading (never writing) the project. */
        access: access.via,
        db,
        /** The unscoped client, for the few reads that are not tenant data (catalog). */
        rootDb: ctx.db,
        log,
        /** What the project's services are called with: its scoped client, its id, its logger. */
        projectScope: { db, projectId: access.project.id, log },
      },
    });
  });

export const projectWriteProcedure = projectProcedure.use(({ ctx, next }) => {
  if (ctx.role === 'VIEWER') fail('FORBIDDEN', 'Viewers cannot make changes in this project');
  return next();
});

export const projectOwnerProcedure = projectProcedure.use(({ ctx, next }) => {
  if (ctx.role !== 'OWNER') fail('FORBIDDEN', 'Only project owners can do this');
  return next();
});

/** A project procedure for the signed-in console only (API tokens cannot manage API tokens). */
export const projectSessionProcedure = projectProcedure.use(({ ctx, next }) => {
  if (ctx.apiToken) fail('FORBIDDEN', 'Sign in to the console to do this; API tokens cannot');
  return next();
});

export const adminProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  if (ctx.apiToken) fail('FORBIDDEN', 'Operator procedures cannot be called with an API token');
  const operator = await ctx.db.operator.findUnique({
    where: { userId: ctx.user.id },
    select: { userId: true },
  });
  if (!operator) fail('FORBIDDEN', 'Operators only');
  return next();
});
