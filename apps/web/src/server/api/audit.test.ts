import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { callerWithToken, codeOf } from '~/test/callers';
import { useHarness } from '~/test/suite';

/**
 * The audit log: one middleware records every mutation (checked for every mutation the router
 * has, so a new one cannot be forgotten), never inputs; owners read their project's log,
 * operators everyone's.
 */

// No worker here: a mutation that waits for the taskmanager's answer gives up quickly.
const h = useHarness({ env: { COFFER_CALL_TIMEOUT_SECONDS: '2' }, obliterateQueue: true });

async function mutationPaths(): Promise<string[]> {
  const { appRouter } = await import('~/server/api/root');
  return Object.entries(
    appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
  )
    .filter(([, procedure]) => procedure._def.type === 'mutation')
    .map(([path]) => path)
    .sort();
}

function call(caller: unknown, path: string, input: unknown): Promise<unknown> {
  const segments = path.split('.');
  const procedure = segments
    .slice(0, -1)
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller) as Record<
    string,
    (input: unknown) => Promise<unknown>
  >;
  return procedure[segments.at(-1)!]!(input);
}

describe('every mutation leaves an audit event', () => {
  it('for each mutation procedure of the router, present and future', async () => {
    const paths = await mutationPaths();
    expect(paths).toEqual(
      expect.arrayContaining([
        'instance.create',
        'project.addMember',
        'apiToken.create',
        'admin.resetStatus',
      ]),
    );
    const { owner, project } = await h.createProjectWithOwner('Audited');
    const caller = h.callerFor(owner);
    for (const path of paths) {
      const before = await h.prisma.auditEvent.count({ where: { path, userId: owner.id } });
      // Whatever the outcome (most refuse this input), the call is recorded.
      await call(caller, path, { projectId: project.id }).catch(() => undefined);
      const events = await h.prisma.auditEvent.findMany({
        where: { path, userId: owner.id },
        orderBy: { createdAt: 'desc' },
      });
      expect({ path, recorded: events.length - before }).toEqual({ path, recorded: 1 });
      expect(events[0]).toMatchObject({ actorEmail: owner.email, result: expect.any(String) });
    }
  });

  it('records who, which project, what, which resource, the result and when; never inputs', async () => {
    const { owner, project } = await h.createProjectWithOwner('Details');
    const caller = h.callerFor(owner);
    const flavor = await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
    const password = `Secret-${randomUUID()}`;
    const startedAt = new Date();

    const created = await caller.instance.create({
      projectId: project.id,
      name: 'audited-db',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      users: [{ name: 'app', host: '%', password, databases: [] }],
    });
    const event = await h.prisma.auditEvent.findFirstOrThrow({
      where: { path: 'instance.create', projectId: project.id },
    });
    expect(event).toMatchObject({
      userId: owner.id,
      actorEmail: owner.email,
      apiTokenId: null,
      projectId: project.id,
      resourceId: created.id,
      result: 'OK',
      errorCode: null,
    });
    expect(event.createdAt.getTime()).toBeGreaterThanOrEqual(startedAt.getTime() - 1000);

    // A failure is recorded with its code; the resource named in the input.
    const missing = randomUUID();
    expect(
      await codeOf(caller.instance.restart({ projectId: project.id, instanceId: missing })),
    ).toBe('NOT_FOUND');
    expect(
      await h.prisma.auditEvent.findFirstOrThrow({
        where: { path: 'instance.restart', projectId: project.id },
      }),
    ).toMatchObject({
      resourceId: missing,
      result: 'NOT_FOUND',
    });

    // Coffer's own code too (a quota error is FORBIDDEN for HTTP, QUOTA_EXCEEDED for people).
    await h.prisma.quota.create({
      data: { projectId: project.id, resource: 'INSTANCES', hardLimit: 1 },
    });
    await caller.instance
      .create({ projectId: project.id, name: 'over', flavorId: flavor.id, volumeSizeGb: 1 })
      .catch(() => undefined);
    expect(
      await h.prisma.auditEvent.findFirstOrThrow({
        where: { path: 'instance.create', projectId: project.id, result: { not: 'OK' } },
      }),
    ).toMatchObject({ result: 'FORBIDDEN', errorCode: 'QUOTA_EXCEEDED' });

    // With an API token: the token is named.
    const { token, apiToken } = await caller.apiToken.create({
      projectId: project.id,
      name: 'deploy',
      scope: 'READ_WRITE',
      expiresInDays: 1,
    });
    const script = await callerWithToken(h, token);
    await script.instance.delete({ projectId: project.id, instanceId: created.id });
    expect(
      await h.prisma.auditEvent.findFirstOrThrow({
        where: { path: 'instance.delete', projectId: project.id },
      }),
    ).toMatchObject({
      userId: owner.id,
      apiTokenId: apiToken.id,
      projectId: project.id,
      resourceId: created.id,
      result: 'OK',
    });

    // A read-only token's refused mutation is in its project's log too.
    const readOnly = await caller.apiToken.create({
      projectId: project.id,
      name: 'reader',
      scope: 'READ_ONLY',
      expiresInDays: 1,
    });
    const reader = await callerWithToken(h, readOnly.token);
    expect(
      await codeOf(reader.instance.restart({ projectId: project.id, instanceId: created.id })),
    ).toBe('FORBIDDEN');
    expect(
      await h.prisma.auditEvent.findFirstOrThrow({
        where: { path: 'instance.restart', apiTokenId: readOnly.apiToken.id },
      }),
    ).toMatchObject({ projectId: project.id, result: 'FORBIDDEN', resourceId: created.id });

    // Nothing secret is stored: not the instance user's password, not the token.
    const everything = JSON.stringify(await h.prisma.auditEvent.findMany());
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(-43));
  });

  it('records neither queries nor calls nobody signed in for', async () => {
    const { owner, project } = await h.createProjectWithOwner('Quiet');
    const before = await h.prisma.auditEvent.count();
    await h.callerFor(owner).instance.list({ projectId: project.id });
    await h.callerFor(owner).project.members({ projectId: project.id });
    expect(await codeOf(h.callerFor(null).project.create({ name: 'anonymous' }))).toBe(
      'UNAUTHORIZED',
    );
    const refused = await callerWithToken(
      h,
      'cof_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    );
    expect(
      await codeOf(
        refused.project.addMember({
          projectId: project.id,
          email: 'x@example.com',
          role: 'MEMBER',
        }),
      ),
    ).toBe('UNAUTHORIZED');
    expect(await h.prisma.auditEvent.count()).toBe(before);
  });

  it('names a project the caller could not reach only for operators, not in that project’s log', async () => {
    const a = await h.createProjectWithOwner('Target');
    const b = await h.createProjectWithOwner('Prober');
    await h
      .callerFor(b.owner)
      .project.addMember({ projectId: a.project.id, email: b.owner.email, role: 'OWNER' })
      .catch(() => undefined);
    const event = await h.prisma.auditEvent.findFirstOrThrow({
      where: { path: 'project.addMember', userId: b.owner.id },
    });
    expect(event).toMatchObject({ projectId: null, result: 'NOT_FOUND' });
    expect(
      (await h.callerFor(a.owner).audit.list({ projectId: a.project.id })).events.map((e) => e.id),
    ).not.toContain(event.id);
  });
});

describe('reading the audit log', () => {
  it('owners read their project’s events; members cannot; other projects are not found; operators read all', async () => {
    const { owner, project } = await h.createProjectWithOwner('Readable');
    const member = await h.createUser('member');
    await h
      .callerFor(owner)
      .project.addMember({ projectId: project.id, email: member.email, role: 'MEMBER' });
    await h
      .callerFor(owner)
      .apiToken.create({ projectId: project.id, name: 'ci', scope: 'READ_ONLY', expiresInDays: 1 });

    const page = await h.callerFor(owner).audit.list({ projectId: project.id });
    expect(page.events.map((e) => e.path)).toEqual(['apiToken.create', 'project.addMember']);
    expect(
      page.events.every((e) => e.projectId === project.id && e.actor.email === owner.email),
    ).toBe(true);
    expect(page.nextCursor).toBeNull();

    expect(await codeOf(h.callerFor(member).audit.list({ projectId: project.id }))).toBe(
      'FORBIDDEN',
    );
    const stranger = await h.createProjectWithOwner('Stranger');
    expect(await codeOf(h.callerFor(stranger.owner).audit.list({ projectId: project.id }))).toBe(
      'NOT_FOUND',
    );
    // An owner's list holds only their project's events.
    expect(
      (await h.callerFor(stranger.owner).audit.list({ projectId: stranger.project.id })).events,
    ).toEqual([]);

    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    const admin = h.callerFor(operator);
    const all = await admin.admin.auditEvents({ limit: 200 });
    expect(new Set(all.events.map((e) => e.projectId))).toContain(project.id);
    const filtered = await admin.admin.auditEvents({ projectId: project.id });
    expect(filtered.events.map((e) => e.id)).toEqual(page.events.map((e) => e.id));
    expect(await codeOf(h.callerFor(owner).admin.auditEvents({}))).toBe('FORBIDDEN');
  });

  it('pages with a cursor, newest first', async () => {
    const { owner, project } = await h.createProjectWithOwner('Pages');
    const caller = h.callerFor(owner);
    for (let i = 0; i < 5; i++) {
      await caller.apiToken.create({
        projectId: project.id,
        name: `t${i}`,
        scope: 'READ_ONLY',
        expiresInDays: 1,
      });
    }
    const first = await caller.audit.list({ projectId: project.id, limit: 2 });
    const second = await caller.audit.list({
      projectId: project.id,
      limit: 2,
      cursor: first.nextCursor,
    });
    const third = await caller.audit.list({
      projectId: project.id,
      limit: 2,
      cursor: second.nextCursor,
    });
    const ids = [...first.events, ...second.events, ...third.events].map((e) => e.id);
    expect(new Set(ids).size).toBe(5);
    expect(third.nextCursor).toBeNull();
    const times = [...first.events, ...second.events, ...third.events].map((e) =>
      e.createdAt.getTime(),
    );
    expect([...times].sort((x, y) => y - x)).toEqual(times);
  });

  it('names who and what (token, instance, project), filters on the server, and admin.setQuota names its project', async () => {
    const { owner, project } = await h.createProjectWithOwner('Named');
    const caller = h.callerFor(owner);
    const instance = await h.insertInstance(project.id, { name: 'orders-db' });
    const { token, apiToken } = await caller.apiToken.create({
      projectId: project.id,
      name: 'deploy-bot',
      scope: 'READ_WRITE',
      expiresInDays: 1,
    });
    // The instance is still building: the script's restart is refused (CONFLICT), and recorded.
    const script = await callerWithToken(h, token);
    expect(
      await codeOf(script.instance.restart({ projectId: project.id, instanceId: instance.id })),
    ).toBe('CONFLICT');
    const operator = await h.createUser('operator');
    await h.makeOperator(operator.id);
    const admin = h.callerFor(operator);
    await admin.admin.setQuota({ projectId: project.id, resource: 'backups', hardLimit: 7 });

    const list = (filter: Record<string, unknown>) =>
      caller.audit.list({ projectId: project.id, ...filter }).then((page) => page.events);
    const all = await list({});
    expect(all.map((e) => [e.path, e.resource, e.projectName])).toEqual([
      ['admin.setQuota', { kind: 'project', name: 'Named', projectId: project.id }, 'Named'],
      ['instance.restart', { kind: 'instance', name: 'orders-db', projectId: project.id }, 'Named'],
      ['apiToken.create', { kind: 'apiToken', name: 'deploy-bot', projectId: project.id }, 'Named'],
    ]);
    expect(all[0]).toMatchObject({ resourceId: project.id, actor: { email: operator.email } });
    expect(all[1]).toMatchObject({
      resourceId: instance.id,
      result: 'CONFLICT',
      apiToken: { id: apiToken.id, name: 'deploy-bot' },
    });

    const paths = async (filter: Record<string, unknown>) =>
      (await list(filter)).map((e) => e.path);
    expect(await paths({ actor: 'DEPLOY-bot' })).toEqual(['instance.restart']);
    expect(await paths({ actor: operator.email.slice(0, 12) })).toEqual(['admin.setQuota']);
    expect(await paths({ action: 'apiToken.create' })).toEqual(['apiToken.create']);
    expect(await paths({ action: 'instance' })).toEqual(['instance.restart']);
    expect(await paths({ resource: 'orders' })).toEqual(['instance.restart']);
    expect(await paths({ resource: apiToken.id })).toEqual(['apiToken.create']);
    expect(await paths({ resource: 'no-such-thing' })).toEqual([]);
    expect(await paths({ outcome: 'failed' })).toEqual(['instance.restart']);
    expect(await paths({ outcome: 'succeeded' })).toEqual(['admin.setQuota', 'apiToken.create']);
    const restartAt = all[1]!.createdAt;
    expect(await paths({ from: restartAt, to: restartAt })).toEqual(['instance.restart']);
    expect(await paths({ to: new Date(restartAt.getTime() - 1) })).toEqual(['apiToken.create']);
    expect(await paths({ outcome: 'succeeded', limit: 1 })).toEqual(['admin.setQuota']);

    // Operators filter the same way across projects.
    expect(
      (await admin.admin.auditEvents({ actor: 'deploy-bot', resource: 'orders-db' })).events.map(
        (e) => e.id,
      ),
    ).toEqual([all[1]!.id]);
  });
});
