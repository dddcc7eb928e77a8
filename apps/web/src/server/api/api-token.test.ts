import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { callerWithToken, callOverHttp, codeOf } from '~/test/callers';
import { smallestFlavorId, useHarness } from '~/test/suite';

/**
 * API tokens: shown once, stored hashed, scoped read-only or read-write, expiring, revocable,
 * and confined to their project, through callers and through the real HTTP handler.
 */

// This file's jobs go to its own queue (no worker takes them; removed at the end).
const h = useHarness({ obliterateQueue: true });

async function projectWithToken(scope: 'READ_ONLY' | 'READ_WRITE', name = 'Tokens') {
  const { owner, project } = await h.createProjectWithOwner(name);
  const created = await h
    .callerFor(owner)
    .apiToken.create({ projectId: project.id, name: `${scope} script`, scope, expiresInDays: 30 });
  return { owner, project, token: created.token, apiToken: created.apiToken };
}

const flavorId = () => smallestFlavorId(h);

type Script = Awaited<ReturnType<typeof callerWithToken>>;

/** What a script's call adding someone to `projectId` as a member ends with. */
async function addMemberCode(script: Script, projectId: string): Promise<string> {
  const someone = await h.createUser();
  return codeOf(script.project.addMember({ projectId, email: someone.email, role: 'MEMBER' }));
}

/** What a script's call creating an instance in `projectId` ends with. */
async function createInstanceCode(script: Script, projectId: string, name: string) {
  return codeOf(
    script.instance.create({ projectId, name, flavorId: await flavorId(), volumeSizeGb: 1 }),
  );
}

/** `instance.list` of `projectId` through the HTTP handler, with `token` as its bearer (if any). */
function listOverHttp(projectId: string, token?: string) {
  return callOverHttp(h, {
    path: 'instance.list',
    type: 'query',
    input: { projectId },
    headers: token === undefined ? undefined : { authorization: `Bearer ${token}` },
  });
}

describe('creating a token', () => {
  it('shows the token once and stores only its hash', async () => {
    const { owner, project, token, apiToken } = await projectWithToken('READ_WRITE');
    expect(token).toMatch(/^cof_[A-Za-z0-9]{12}_[A-Za-z0-9]{43}$/);
    expect(apiToken).toMatchObject({
      scope: 'READ_WRITE',
      status: 'ACTIVE',
      user: { id: owner.id },
    });
    expect(token.startsWith(apiToken.prefix.replace('…', ''))).toBe(true);

    const row = await h.prisma.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } });
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(-43));
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.expiresAt.getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);

    // Listing never shows it again.
    const listed = await h.callerFor(owner).apiToken.list({ projectId: project.id });
    expect(JSON.stringify(listed)).not.toContain(token.slice(-43));
    expect(listed.map((t) => t.id)).toEqual([apiToken.id]);
  });

  it('rejects bad input, and lets viewers create read-only tokens only', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    for (const bad of [
      { name: ' ', expiresInDays: 30 },
      { name: 'x', expiresInDays: 0 },
      { name: 'x', expiresInDays: 366 },
    ]) {
      expect(
        await codeOf(caller.apiToken.create({ projectId: project.id, scope: 'READ_ONLY', ...bad })),
        JSON.stringify(bad),
      ).toBe('BAD_REQUEST');
    }

    const viewer = await h.createUser('viewer');
    await h.addMembership(project.id, viewer.id, 'VIEWER');
    const asViewer = h.callerFor(viewer);
    expect(
      await codeOf(
        asViewer.apiToken.create({
          projectId: project.id,
          name: 'rw',
          scope: 'READ_WRITE',
          expiresInDays: 7,
        }),
      ),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        asViewer.apiToken.create({
          projectId: project.id,
          name: 'ro',
          scope: 'READ_ONLY',
          expiresInDays: 7,
        }),
      ),
    ).toBe('OK');
    // A viewer sees their own tokens; the owner sees everyone's.
    expect(await asViewer.apiToken.list({ projectId: project.id })).toHaveLength(1);
    expect(await caller.apiToken.list({ projectId: project.id })).toHaveLength(1);
  });
});

describe('a read-only token', () => {
  it('reads, and cannot call any mutation (FORBIDDEN), so nothing changes', async () => {
    const { project, token } = await projectWithToken('READ_ONLY');
    const script = await callerWithToken(h, token);
    expect(await script.instance.list({ projectId: project.id })).toEqual([]);
    expect(await script.project.get({ projectId: project.id })).toMatchObject({
      id: project.id,
      role: 'OWNER',
    });

    expect(await addMemberCode(script, project.id)).toBe('FORBIDDEN');
    expect(await createInstanceCode(script, project.id, 'nope')).toBe('FORBIDDEN');
    expect(
      await codeOf(script.instance.delete({ projectId: project.id, instanceId: randomUUID() })),
    ).toBe('FORBIDDEN');
    expect(await h.prisma.instance.count({ where: { projectId: project.id } })).toBe(0);
    expect(await h.prisma.membership.count({ where: { projectId: project.id } })).toBe(1);
  });
});

describe('a read-write token', () => {
  it('acts as its user inside its project: lists and creates instances', async () => {
    const { owner, project, token } = await projectWithToken('READ_WRITE');
    const script = await callerWithToken(h, token);
    const created = await script.instance.create({
      projectId: project.id,
      name: 'from-script',
      flavorId: await flavorId(),
      volumeSizeGb: 1,
    });
    expect(created).toMatchObject({ name: 'from-script', status: 'BUILD', projectId: project.id });
    expect((await script.instance.list({ projectId: project.id })).map((i) => i.id)).toEqual([
      created.id,
    ]);
    expect(await script.viewer.me()).toMatchObject({ id: owner.id });
  });

  it('has the rights of its user now: a user made viewer cannot mutate with it, a removed member cannot use it', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const member = await h.createUser('member');
    const membership = await h.addMembership(project.id, member.id, 'MEMBER');
    const { token } = await h.callerFor(member).apiToken.create({
      projectId: project.id,
      name: 'ci',
      scope: 'READ_WRITE',
      expiresInDays: 7,
    });
    const script = await callerWithToken(h, token);

    await h.callerFor(owner).project.changeMemberRole({
      projectId: project.id,
      membershipId: membership.id,
      role: 'VIEWER',
    });
    expect(await addMemberCode(script, project.id)).toBe('FORBIDDEN');
    expect(await codeOf(script.instance.list({ projectId: project.id }))).toBe('OK');

    await h
      .callerFor(owner)
      .project.removeMember({ projectId: project.id, membershipId: membership.id });
    expect(await codeOf(script.instance.list({ projectId: project.id }))).toBe('NOT_FOUND');
  });
});

describe('a token of project A', () => {
  it('cannot touch project B, even one its user belongs to (NOT_FOUND), nor act outside a project', async () => {
    const a = await projectWithToken('READ_WRITE', 'Project A');
    // The same user owns B too: the token still does not reach it.
    const { createProject } = await import('@coffer/db/factories');
    const b = await createProject(h.prisma, { name: 'Project B', ownerUserId: a.owner.id });
    const script = await callerWithToken(h, a.token);

    expect(await codeOf(script.project.get({ projectId: b.id }))).toBe('NOT_FOUND');
    expect(await codeOf(script.instance.list({ projectId: b.id }))).toBe('NOT_FOUND');
    expect(await addMemberCode(script, b.id)).toBe('NOT_FOUND');
    expect(await createInstanceCode(script, b.id, 'sneaky')).toBe('NOT_FOUND');
    expect(await h.prisma.instance.count({ where: { projectId: b.id } })).toBe(0);
    expect(await h.prisma.membership.count({ where: { projectId: b.id } })).toBe(1);

    // Only its own project is listed; nothing outside a project can be changed; tokens cannot make tokens.
    expect((await script.project.list()).map((p) => p.id)).toEqual([a.project.id]);
    expect(await codeOf(script.project.create({ name: 'Another' }))).toBe('FORBIDDEN');
    expect(
      await codeOf(
        script.apiToken.create({
          projectId: a.project.id,
          name: 'more',
          scope: 'READ_WRITE',
          expiresInDays: 1,
        }),
      ),
    ).toBe('FORBIDDEN');
    expect(await codeOf(script.apiToken.list({ projectId: a.project.id }))).toBe('FORBIDDEN');
  });

  it("of an operator cannot reach the operators' procedures", async () => {
    const { owner, token } = await projectWithToken('READ_WRITE');
    await h.makeOperator(owner.id);
    expect(await codeOf(h.callerFor(owner).admin.instances())).toBe('OK');
    const script = await callerWithToken(h, token);
    expect(await codeOf(script.admin.instances())).toBe('FORBIDDEN');
    expect(await codeOf(script.admin.resetStatus({ instanceId: randomUUID() }))).toBe('FORBIDDEN');
  });
});

describe('refused tokens (UNAUTHORIZED)', () => {
  it('a revoked token, an expired token, a wrong secret and garbage', async () => {
    const { owner, project, token, apiToken } = await projectWithToken('READ_WRITE');
    const script = await callerWithToken(h, token);
    expect(await codeOf(script.instance.list({ projectId: project.id }))).toBe('OK');

    // Wrong secret for a real public id; malformed tokens.
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const bad of [forged, 'cof_nope', 'not-a-token', '']) {
      const caller = await callerWithToken(h, bad);
      await expect(caller.instance.list({ projectId: project.id })).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    }

    const revoked = await h
      .callerFor(owner)
      .apiToken.revoke({ projectId: project.id, tokenId: apiToken.id });
    expect(revoked.status).toBe('REVOKED');
    await expect(script.instance.list({ projectId: project.id })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API token has been revoked',
    });
    await expect(
      script.instance.delete({ projectId: project.id, instanceId: randomUUID() }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });

    const other = await projectWithToken('READ_ONLY');
    await h.prisma.apiToken.update({
      where: { id: other.apiToken.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await callerWithToken(h, other.token);
    await expect(expired.instance.list({ projectId: other.project.id })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'This API token has expired',
    });
    expect(
      (await h.callerFor(other.owner).apiToken.list({ projectId: other.project.id }))[0]?.status,
    ).toBe('EXPIRED');
  });

  it('only the token owner or a project owner can revoke it', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const member = await h.createUser('member');
    const other = await h.createUser('other');
    await h.addMembership(project.id, member.id, 'MEMBER');
    await h.addMembership(project.id, other.id, 'MEMBER');
    const { apiToken } = await h
      .callerFor(member)
      .apiToken.create({ projectId: project.id, name: 'm', scope: 'READ_ONLY', expiresInDays: 7 });
    expect(
      await codeOf(
        h.callerFor(other).apiToken.revoke({ projectId: project.id, tokenId: apiToken.id }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        h.callerFor(owner).apiToken.revoke({ projectId: project.id, tokenId: apiToken.id }),
      ),
    ).toBe('OK');
    // A token id of another project is not found.
    const elsewhere = await projectWithToken('READ_ONLY');
    expect(
      await codeOf(
        h
          .callerFor(owner)
          .apiToken.revoke({ projectId: project.id, tokenId: elsewhere.apiToken.id }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      (await h.prisma.apiToken.findUniqueOrThrow({ where: { id: elsewhere.apiToken.id } }))
        .revokedAt,
    ).toBeNull();
  });
});

describe('over HTTP (the fetch handler with an Authorization header)', () => {
  it('answers 200, 403, 404 and 401 as the token allows', async () => {
    const rw = await projectWithToken('READ_WRITE', 'HTTP A');
    const ro = await projectWithToken('READ_ONLY', 'HTTP B');
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    const listed = await listOverHttp(rw.project.id, rw.token);
    expect(listed.status).toBe(200);
    expect(listed.body.result?.data.json).toEqual([]);

    const created = await callOverHttp(h, {
      path: 'instance.create',
      type: 'mutation',
      input: {
        projectId: rw.project.id,
        name: 'over-http',
        flavorId: await flavorId(),
        volumeSizeGb: 1,
      },
      headers: bearer(rw.token),
    });
    expect(created.status).toBe(200);
    expect(created.body.result?.data.json).toMatchObject({ name: 'over-http', status: 'BUILD' });

    const readOnlyMutation = await callOverHttp(h, {
      path: 'instance.restart',
      type: 'mutation',
      input: { projectId: ro.project.id, instanceId: randomUUID() },
      headers: bearer(ro.token),
    });
    expect(readOnlyMutation.status).toBe(403);
    expect(readOnlyMutation.body.error?.json.message).toBe('This API token is read-only');

    const otherProject = await listOverHttp(ro.project.id, rw.token);
    expect(otherProject.status).toBe(404);

    await h
      .callerFor(rw.owner)
      .apiToken.revoke({ projectId: rw.project.id, tokenId: rw.apiToken.id });
    const revoked = await listOverHttp(rw.project.id, rw.token);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error?.json.message).toBe('This API token has been revoked');

    const anonymous = await listOverHttp(rw.project.id);
    expect(anonymous.status).toBe(401);
  });

  it('records when a token was last used', async () => {
    const { project, token, apiToken } = await projectWithToken('READ_ONLY');
    expect(
      (await h.prisma.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastUsedAt,
    ).toBeNull();
    await listOverHttp(project.id, token);
    await expect
      .poll(
        async () =>
          (await h.prisma.apiToken.findUniqueOrThrow({ where: { id: apiToken.id } })).lastUsedAt,
        { timeout: 10_000 },
      )
      .not.toBeNull();
  });
});
