import 'server-only';

import { randomUUID } from 'node:crypto';

import { AppError, type ErrorCode } from '@coffer/contracts';
import { type ProjectRole } from '@coffer/db';
import { initTRPC } from '@trpc/server';
import SuperJSON from 'superjson';
import { z } from 'zod';

import { auth } from '~/server/auth';
import { db as defaultDb } from '~/server/db';
import { fieldErrorsOf, toTRPCError } from '~/server/errors';
import { logger as rootLogger } from '~/server/logger';
import { scopeToProject } from '~/server/tenancy';

/**
 * The one tRPC setup: context, error formatter, and the base procedures every router uses.
 *
 *   publicProcedure     anyone
 *   protectedProcedure  a signed-in user
 *   projectProcedure    a member of `input.projectId`; ctx.db is scoped to that project
 *   projectWriteProcedure  an owner or member (viewers cannot mutate)
 *   projectOwnerProcedure  an owner
 *   adminProcedure      an operator
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
}

async function getSessionUser(headers: Headers): Promise<SessionUser | null> {
  const session = await auth.api.getSession({ headers });
  if (!session) return null;
  return { id: session.user.id, email: session.user.email, name: session.user.name };
}

const defaultDeps: ContextDeps = { db: defaultDb, getUser: getSessionUser };

export async function createTRPCContext(opts: { headers: Headers }, deps: ContextDeps = defaultDeps) {
  const user = await deps.getUser(opts.headers);
  const requestId = opts.headers.get('x-request-id') ?? randomUUID();
  const log = rootLogger.child({ requestId, userId: user?.id, source: opts.headers.get('x-trpc-source') ?? 'http' });
  return { db: deps.db, user, log, headers: opts.headers };
}

export type Context = Awaited<ReturnType<typeof createTRPCContext>>;

const t = initTRPC.context<Context>().create({
  transformer: SuperJSON,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Field errors for forms: { fieldName: ['message', ...] }.
        fieldErrors: fieldErrorsOf(cause),
        appCode: cause instanceof AppError ? cause.code : null,
        // Never leak stack traces.
        stack: undefined,
      },
    };
  },
});

export const createCallerFactory = t.createCallerFactory;
export const createTRPCRouter = t.router;

/** Turns expected failures into their tRPC codes, and logs the unexpected ones. */
const errorMapping = t.middleware(async ({ next, path, type, ctx }) => {
  const started = performance.now();
  const result = await next();
  ctx.log.debug({ path, type, ok: result.ok, ms: Math.round(performance.now() - started) }, 'procedure');
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof AppError) return { ...result, error: toTRPCError(cause) };
  if (result.error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ err: cause ?? result.error, path, type }, 'procedure failed');
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorMapping);

function fail(code: ErrorCode, message: string): never {
  throw toTRPCError(new AppError(code, message));
}

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) fail('UNAUTHORIZED', 'Sign in to continue');
  return next({ ctx: { ...ctx, user: ctx.user } });
});

export const projectInput = z.object({ projectId: z.uuid({ error: 'Project not found' }) });

export const projectProcedure = protectedProcedure.input(projectInput).use(async ({ ctx, input, next }) => {
  const membership = await ctx.db.membership.findUnique({
    where: { projectId_userId: { projectId: input.projectId, userId: ctx.user.id } },
    select: { role: true, project: { select: { id: true, name: true } } },
  });
  // Another project's id is indistinguishable from one that does not exist.
  if (!membership) fail('NOT_FOUND', 'Project not found');
  return next({
    ctx: {
      ...ctx,
      project: membership.project,
      role: membership.role as ProjectRole,
      db: scopeToProject(ctx.db, membership.project.id),
      /** The unscoped client, for the few reads that are not tenant data (catalog). */
      rootDb: ctx.db,
      log: ctx.log.child({ projectId: membership.project.id }),
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

export const adminProcedure = protectedProcedure.use(async ({ ctx, next }) => {
  const operator = await ctx.db.operator.findUnique({ where: { userId: ctx.user.id }, select: { userId: true } });
  if (!operator) fail('FORBIDDEN', 'Operators only');
  return next();
});
