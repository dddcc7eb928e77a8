import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { codeOf } from '~/test/callers';
import { useHarness } from '~/test/suite';

const h = useHarness();

describe('sign-in is required', () => {
  it('refuses anonymous callers', async () => {
    const anonymous = h.callerFor(null);
    expect(await codeOf(anonymous.project.list())).toBe('UNAUTHORIZED');
    expect(await codeOf(anonymous.project.create({ name: 'x' }))).toBe('UNAUTHORIZED');
  });
});

describe('membership', () => {
  it('is required for every project procedure', async () => {
    const { project } = await h.createProjectWithOwner('Members only');
    const stranger = h.callerFor(await h.createUser('stranger'));
    expect(await codeOf(stranger.project.get({ projectId: project.id }))).toBe('NOT_FOUND');
    expect(await codeOf(stranger.project.members({ projectId: project.id }))).toBe('NOT_FOUND');
    expect(await codeOf(stranger.instance.list({ projectId: project.id }))).toBe('NOT_FOUND');
  });

  it('lets an owner add a member by email, and the member then sees the project', async () => {
    const { owner, project } = await h.createProjectWithOwner('Team');
    const teammate = await h.createUser('teammate');
    const added = await h.callerFor(owner).project.addMember({
      projectId: project.id,
      email: teammate.email.toUpperCase(),
      role: 'MEMBER',
    });
    expect(added.user.id).toBe(teammate.id);
    const projects = await h.callerFor(teammate).project.list();
    expect(projects).toContainEqual({ id: project.id, name: 'Team', role: 'MEMBER' });
  });

  it('answers a clear error for an unknown email or a second add', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    await expect(
      caller.project.addMember({
        projectId: project.id,
        email: 'nobody@example.com',
        role: 'MEMBER',
      }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('sign up'),
    });
    const teammate = await h.createUser();
    await caller.project.addMember({
      projectId: project.id,
      email: teammate.email,
      role: 'VIEWER',
    });
    await expect(
      caller.project.addMember({ projectId: project.id, email: teammate.email, role: 'MEMBER' }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('keeps at least one owner', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    const [membership] = await caller.project.members({ projectId: project.id });
    await expect(
      caller.project.changeMemberRole({
        projectId: project.id,
        membershipId: membership!.id,
        role: 'MEMBER',
      }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(
      caller.project.removeMember({ projectId: project.id, membershipId: membership!.id }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });
});

describe('roles', () => {
  it('a viewer can read but cannot mutate', async () => {
    const { project } = await h.createProjectWithOwner();
    const viewer = await h.createUser('viewer');
    await h.addMembership(project.id, viewer.id, 'VIEWER');
    const caller = h.callerFor(viewer);
    expect(await caller.project.get({ projectId: project.id })).toMatchObject({ role: 'VIEWER' });
    expect(await caller.instance.list({ projectId: project.id })).toEqual([]);
    const someone = await h.createUser();
    expect(
      await codeOf(
        caller.project.addMember({ projectId: project.id, email: someone.email, role: 'MEMBER' }),
      ),
    ).toBe('FORBIDDEN');
    const count = await h.prisma.membership.count({ where: { projectId: project.id } });
    expect(count).toBe(2);
  });

  it('a member cannot manage members (owners only)', async () => {
    const { project } = await h.createProjectWithOwner();
    const member = await h.createUser('member');
    await h.addMembership(project.id, member.id, 'MEMBER');
    const someone = await h.createUser();
    expect(
      await codeOf(
        h
          .callerFor(member)
          .project.addMember({ projectId: project.id, email: someone.email, role: 'VIEWER' }),
      ),
    ).toBe('FORBIDDEN');
  });

  it('operator-only procedures refuse members and owners, and serve operators', async () => {
    const { owner } = await h.createProjectWithOwner();
    expect(await codeOf(h.callerFor(owner).admin.instances())).toBe('FORBIDDEN');
    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    expect(Array.isArray((await h.callerFor(operator).admin.instances()).instances)).toBe(true);
    expect(await h.callerFor(operator).viewer.me()).toMatchObject({ isOperator: true });
    expect(await h.callerFor(owner).viewer.me()).toMatchObject({ isOperator: false });
  });
});

describe('tenant isolation', () => {
  it('a user of project B asking for anything of project A gets NOT_FOUND, never the data', async () => {
    const a = await h.createProjectWithOwner('Project A');
    const b = await h.createProjectWithOwner('Project B');
    const callerB = h.callerFor(b.owner);
    const [memberOfA] = await h.callerFor(a.owner).project.members({ projectId: a.project.id });

    for (const call of [
      () => callerB.project.get({ projectId: a.project.id }),
      () => callerB.project.members({ projectId: a.project.id }),
      () => callerB.instance.list({ projectId: a.project.id }),
      () =>
        callerB.project.addMember({ projectId: a.project.id, email: b.owner.email, role: 'OWNER' }),
      () => callerB.project.removeMember({ projectId: a.project.id, membershipId: memberOfA!.id }),
    ]) {
      expect(await codeOf(call())).toBe('NOT_FOUND');
    }
    // A's membership id used inside B's own project is also "not found", not a change.
    expect(
      await codeOf(
        callerB.project.changeMemberRole({
          projectId: b.project.id,
          membershipId: memberOfA!.id,
          role: 'VIEWER',
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        callerB.project.removeMember({ projectId: b.project.id, membershipId: memberOfA!.id }),
      ),
    ).toBe('NOT_FOUND');
    expect(await h.prisma.membership.findUnique({ where: { id: memberOfA!.id } })).toMatchObject({
      role: 'OWNER',
    });
    expect((await callerB.project.list()).map((p) => p.name)).toEqual(['Project B']);
  });
});

describe('bad input', () => {
  it('rejects an empty or over-long project name with a field error and writes nothing', async () => {
    const user = await h.createUser();
    const caller = h.callerFor(user);
    const before = await h.prisma.project.count();
    for (const name of ['', '   ', 'x'.repeat(65)]) {
      const error = await caller.project.create({ name }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('BAD_REQUEST');
    }
    expect(await h.prisma.project.count()).toBe(before);
  });

  it('rejects an invalid email or unknown role when adding a member', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    expect(
      await codeOf(
        caller.project.addMember({ projectId: project.id, email: 'not-an-email', role: 'MEMBER' }),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      await codeOf(
        // @ts-expect-error: an unknown role is what is being tested
        caller.project.addMember({ projectId: project.id, email: owner.email, role: 'ADMIN' }),
      ),
    ).toBe('BAD_REQUEST');
    expect(await h.prisma.membership.count({ where: { projectId: project.id } })).toBe(1);
  });

  it('names the invalid field in the error that reaches the client over HTTP', async () => {
    const { fetchRequestHandler } = await import('@trpc/server/adapters/fetch');
    const { appRouter } = await import('~/server/api/root');
    const { createTRPCContext } = await import('~/server/api/trpc');
    const user = await h.createUser();
    const response = await fetchRequestHandler({
      endpoint: '/api/trpc',
      req: new Request('http://localhost/api/trpc/project.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { name: '' } }),
      }),
      router: appRouter,
      createContext: () =>
        createTRPCContext({ headers: new Headers() }, { db: h.prisma, getUser: async () => user }),
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    const body = JSON.parse(text) as {
      error: { json: { data: { fieldErrors: Record<string, string[]>; stack?: string | null } } };
    };
    expect(body.error.json.data.fieldErrors).toEqual({ name: ['Project name is required'] });
    // No stack trace reaches a client.
    expect(body.error.json.data.stack ?? null).toBeNull();
    expect(text).not.toMatch(/\n\s+at /);
  });
});
