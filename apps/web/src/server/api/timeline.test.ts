import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { callerWithToken, codeOf } from '~/test/callers';
import { useHarness } from '~/test/suite';

/**
 * The event timeline (timeline.instance, timeline.project): what the database recorded of each
 * change (its triggers, whoever wrote the row) merged with the requests of the audit log, newest
 * first, with who caused each; pages by cursor; filtered by kind; another project's instance is
 * "not found". No worker: the rows are written as the worker and the conductor write them.
 */

const h = useHarness({ obliterateQueue: true });

type Entries = Awaited<
  ReturnType<ReturnType<typeof h.callerFor>['timeline']['instance']>
>['entries'];

function isNewestFirst(entries: Entries): boolean {
  return entries.every((entry, i) => i === 0 || entries[i - 1]!.at >= entry.at);
}

async function setUp(name: string) {
  const { owner, project } = await h.createProjectWithOwner(name);
  const caller = h.callerFor(owner);
  const flavor = await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } });
  const created = await caller.instance.create({
    projectId: project.id,
    name: `${name.toLowerCase()}-db`,
    flavorId: flavor.id,
    volumeSizeGb: 1,
  });
  return { owner, project, caller, instanceId: created.id };
}

/** What the conductor writes when the guest reports its server running (the guest's order moves). */
async function reportRunning(instanceId: string) {
  await h.prisma.instance.update({
    where: { id: instanceId },
    data: {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      lastHeartbeatAt: new Date(),
      lastEpoch: 1n,
      lastSeq: 1n,
    },
  });
}

describe('timeline.instance', () => {
  it("shows an instance's create, its status change and a backup newest first, with who caused each", async () => {
    const { owner, project, caller, instanceId } = await setUp('Timeline');
    await reportRunning(instanceId);
    const { token } = await caller.apiToken.create({
      projectId: project.id,
      name: 'nightly',
      scope: 'READ_WRITE',
      expiresInDays: 1,
    });
    const script = await callerWithToken(h, token);
    const backup = await script.backup.create({ projectId: project.id, instanceId, name: 'b1' });
    // The conductor applies the guest's last backup report.
    await h.prisma.backup.update({
      where: { id: backup.id },
      data: { status: 'COMPLETED', progress: 100, sizeBytes: 42n, finishedAt: new Date() },
    });

    const { entries, nextCursor } = await caller.timeline.instance({
      projectId: project.id,
      instanceId,
    });
    expect(nextCursor).toBeNull();
    expect(isNewestFirst(entries)).toBe(true);
    const lines = entries.map((entry) => [entry.kind, entry.summary, entry.actor.type]);
    const indexOf = (summary: string | RegExp) =>
      lines.findIndex(([, text]) =>
        typeof summary === 'string' ? text === summary : summary.test(text!),
      );
    expect(lines).toEqual(
      expect.arrayContaining([
        ['backup', 'Backup b1 completed (42 bytes stored)', 'system'],
        ['backup', 'Backup requested', 'api_token'],
        ['status', 'Status ACTIVE → BACKUP', 'system'],
        ['backup', 'Full backup b1 started', 'system'],
        ['status', 'Status BUILD → ACTIVE', 'guest'],
        ['task', 'Create requested', 'user'],
        ['task', 'Created with a 1 GB volume', 'system'],
      ]),
    );
    // Newest first: the backup's end, its request, the instance becoming ACTIVE, the create.
    expect(indexOf('Backup b1 completed (42 bytes stored)')).toBeLessThan(
      indexOf('Backup requested'),
    );
    expect(indexOf('Backup requested')).toBeLessThan(indexOf('Status BUILD → ACTIVE'));
    expect(indexOf('Status BUILD → ACTIVE')).toBeLessThan(indexOf('Create requested'));
    // The request is recorded once it has been answered: after the row it wrote.
    expect(indexOf('Create requested')).toBeLessThan(indexOf('Created with a 1 GB volume'));

    const byUser = entries.find((entry) => entry.summary === 'Create requested')!;
    expect(byUser.actor).toEqual({ type: 'user', name: owner.email, email: owner.email });
    expect(byUser.instance).toEqual({ id: instanceId, name: 'timeline-db' });
    const byToken = entries.find((entry) => entry.summary === 'Backup requested')!;
    expect(byToken.actor).toMatchObject({ type: 'api_token', email: owner.email });
    expect(byToken.actor.name).toMatch(/^nightly \(cof_/);
    // The request names the backup; the timeline names its instance.
    expect(byToken.instance).toEqual({ id: instanceId, name: 'timeline-db' });

    // Filtered by kind: the backup's entries only, its request with them.
    const backups = await caller.timeline.instance({
      projectId: project.id,
      instanceId,
      kinds: ['backup'],
    });
    expect(backups.entries.map((entry) => entry.summary)).toEqual([
      'Backup b1 completed (42 bytes stored)',
      'Backup requested',
      'Full backup b1 started',
    ]);
  });

  it('pages through the whole timeline by cursor, entries of the same millisecond included', async () => {
    const { project, caller, instanceId } = await setUp('Paged');
    await reportRunning(instanceId);
    const at = new Date(Date.now() + 1000);
    await h.prisma.instanceEvent.createMany({
      data: ['first', 'second', 'third', 'fourth'].map((word) => ({
        instanceId,
        projectId: project.id,
        kind: 'server_restarted',
        message: `restart ${word}`,
        actor: 'guest',
        createdAt: at,
      })),
    });
    await h.prisma.auditEvent.create({
      data: {
        projectId: project.id,
        path: 'instance.restart',
        resourceId: instanceId,
        result: 'OK',
        actorEmail: 'someone@example.com',
        createdAt: at,
      },
    });

    const whole = await caller.timeline.instance({ projectId: project.id, instanceId });
    expect(whole.entries.length).toBe(8);
    const paged: Entries = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof caller.timeline.instance>> =
        await caller.timeline.instance({ projectId: project.id, instanceId, limit: 3, cursor });
      paged.push(...page.entries);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(paged.map((entry) => entry.id)).toEqual(whole.entries.map((entry) => entry.id));
    expect(new Set(paged.map((entry) => entry.id)).size).toBe(8);

    expect(
      await codeOf(
        caller.timeline.instance({ projectId: project.id, instanceId, cursor: 'not-a-cursor' }),
      ),
    ).toBe('BAD_REQUEST');
  });
});

describe('timeline.project', () => {
  it("shows every instance's entries of the project, and no other project's", async () => {
    const { owner, project, caller, instanceId } = await setUp('Fleet');
    const second = await caller.instance.create({
      projectId: project.id,
      name: 'fleet-second',
      flavorId: (await h.prisma.flavor.findFirstOrThrow({ where: { isDisabled: false } })).id,
      volumeSizeGb: 1,
    });
    await reportRunning(second.id);
    const other = await setUp('Elsewhere');

    const { entries } = await caller.timeline.project({ projectId: project.id });
    expect(isNewestFirst(entries)).toBe(true);
    expect(new Set(entries.map((entry) => entry.instance?.name))).toEqual(
      new Set(['fleet-db', 'fleet-second']),
    );
    expect(
      entries.find((entry) => entry.instance?.id === second.id && entry.kind === 'status'),
    ).toMatchObject({ summary: 'Status BUILD → ACTIVE', actor: { type: 'guest' } });
    expect(
      entries.filter((entry) => entry.summary === 'Create requested').map((e) => e.actor.name),
    ).toEqual([owner.email, owner.email]);
    expect(entries.some((entry) => entry.instance?.id === other.instanceId)).toBe(false);
    expect(entries.some((entry) => entry.instance?.id === instanceId)).toBe(true);
  });

  it('answers "not found" for another project and for its instance', async () => {
    const mine = await setUp('Mine');
    const theirs = await setUp('Theirs');
    // Their instance asked for inside my project, my project asked for by them.
    expect(
      await codeOf(
        mine.caller.timeline.instance({
          projectId: mine.project.id,
          instanceId: theirs.instanceId,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(await codeOf(theirs.caller.timeline.project({ projectId: mine.project.id }))).toBe(
      'NOT_FOUND',
    );
    expect(
      await codeOf(
        theirs.caller.timeline.instance({
          projectId: mine.project.id,
          instanceId: mine.instanceId,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        mine.caller.timeline.instance({ projectId: mine.project.id, instanceId: randomUUID() }),
      ),
    ).toBe('NOT_FOUND');
  });
});
