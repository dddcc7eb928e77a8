import { Writable } from 'node:stream';

import { createPrismaClient } from '@coffer/db';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SessionUser } from '~/server/api/trpc';
import type * as AuthModuleNs from '~/server/auth';
import { callOverHttp } from '~/test/callers';
import { createHarness, type Harness } from '~/test/harness';

/**
 * The API's edge: text that cannot be stored (NUL, unpaired surrogates) is refused in every
 * input as bad input, before any procedure runs; and a failure nobody expected answers with
 * a generic message and a request id, never the internals, which are logged with that id.
 */

let h: Harness;
let auth: (typeof AuthModuleNs)['auth'];
beforeAll(async () => {
  h = await createHarness();
  ({ auth } = await import('~/server/auth'));
});
afterAll(async () => {
  await h?.close();
});

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\uD800b';

/** A mutation over HTTP as `user`, answered 400 BAD_REQUEST with a field error on `field`. */
async function expectBadInput(user: SessionUser, path: string, input: unknown, field: string) {
  const answer = await callOverHttp(h, { path, type: 'mutation', input, user });
  expect(answer.status).toBe(400);
  expect(answer.body.error?.json.data).toMatchObject({
    code: 'BAD_REQUEST',
    fieldErrors: { [field]: [expect.any(String)] },
  });
  return answer;
}

describe('unsafe text in an input', () => {
  it('a NUL in a project name or a token name is BAD_REQUEST on that field, and nothing is written', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const projects = await h.prisma.project.count();

    const created = await expectBadInput(owner, 'project.create', { name: NUL }, 'name');
    expect(JSON.stringify(created.body)).not.toMatch(/prisma|22021|invalid byte sequence/i);

    await expectBadInput(
      owner,
      'apiToken.create',
      { projectId: project.id, name: NUL, scope: 'READ_ONLY', expiresInDays: 1 },
      'name',
    );

    expect(await h.prisma.project.count()).toBe(projects);
    expect(await h.prisma.apiToken.count({ where: { projectId: project.id } })).toBe(0);
  });

  it('an unpaired surrogate is refused as well', async () => {
    const owner = await h.createUser();
    await expectBadInput(owner, 'project.create', { name: LONE_SURROGATE }, 'name');
    expect(await h.prisma.project.count({ where: { name: { startsWith: 'a' } } })).toBe(0);
  });

  it('is refused anywhere in any input, even where the procedure would not look (no procedure can forget)', async () => {
    const owner = await h.createUser();
    const input = { name: 'fine', note: { lines: ['ok', NUL] } };
    await expectBadInput(owner, 'project.create', input, 'note.lines.1');
    expect(await h.prisma.project.count({ where: { name: 'fine' } })).toBe(0);

    const tooLong = await callOverHttp(h, {
      path: 'project.list',
      type: 'query',
      input: { filler: 'x'.repeat(20_000) },
      user: owner,
    });
    expect(tooLong.status).toBe(400);
  });

  it('sign-up and sign-in refuse it with 400, writing nothing', async () => {
    const users = await h.prisma.user.count();
    const post = (path: string, body: Record<string, string>) =>
      auth.handler(
        new Request(`http://localhost:3100/api/auth${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            origin: 'http://localhost:3100',
            'x-forwarded-for': '10.99.0.1',
          },
          body: JSON.stringify(body),
        }),
      );
    expect(
      (
        await post('/sign-up/email', {
          name: NUL,
          email: 'nul-name@example.com',
          password: 'long-enough-password',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await post('/sign-up/email', {
          name: 'Fine',
          email: 'nul-password@example.com',
          password: `long-enough-${NUL}`,
        })
      ).status,
    ).toBe(400);
    expect(
      (await post('/sign-in/email', { email: 'someone@example.com', password: `pass-${NUL}-word` }))
        .status,
    ).toBe(400);
    expect(await h.prisma.user.count()).toBe(users);
  });
});

describe('an unexpected failure', () => {
  it('answers INTERNAL_SERVER_ERROR with a generic message and a request id, and logs the real error once with that id', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    );
    // A database that does not exist: Prisma's error names it, and must not reach the client.
    const missing = createPrismaClient({
      url: `${process.env.DATABASE_URL!.replace(/\/[^/?]*(\?|$)/, '/coffer_no_such_database$1')}`,
    });
    try {
      const user = await h.createUser();
      const response = await callOverHttp(h, {
        path: 'project.list',
        type: 'query',
        input: undefined,
        user,
        db: missing,
        logger,
      });
      expect(response.status).toBe(500);
      const error = response.body.error!.json;
      const requestId = error.data.requestId as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(error.message).toBe(
        `Something went wrong on Coffer's side. If it keeps happening, tell your operator the request id ${requestId}.`,
      );
      expect(JSON.stringify(response.body)).not.toMatch(/coffer_no_such_database|prisma|database/i);

      const logged = lines.filter((line) => line.requestId === requestId);
      expect(logged).toHaveLength(1);
      expect(JSON.stringify(logged[0])).toMatch(/coffer_no_such_database/);
    } finally {
      await missing.$disconnect();
    }
  });
});
