import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHarness, type Harness } from '~/test/harness';

/**
 * An instance's event timeline (instanceEvent.list): newest first, bounded, only this
 * instance's; another project's instance is "not found", and its events never show.
 */

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

async function setUpInstance(name: string) {
  const { owner, project } = await h.createProjectWithOwner(name);
  const instance = await h.insertInstance(project.id, {
    name: `${name.toLowerCase()}-db`,
    taskStatus: 'NONE',
    serviceStatus: 'RUNNING',
  });
  return { owner, project, instance };
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  throw new Error('the call succeeded');
}

describe('instanceEvent.list', () => {
  it("lists an instance's events newest first, bounded, and only to its project", async () => {
    const mine = await setUpInstance('Mine');
    const theirs = await setUpInstance('Theirs');
    const base = Date.now() - 60_000;
    await h.prisma.instanceEvent.createMany({
      data: [
        ['server_restarted', 'first restart', 0],
        ['server_restarted', 'second restart', 1000],
        ['server_crash_loop', 'gave up', 2000],
      ].map(([kind, message, offset]) => ({
        instanceId: mine.instance.id,
        projectId: mine.project.id,
        kind: kind as string,
        message: message as string,
        createdAt: new Date(base + (offset as number)),
      })),
    });
    await h.prisma.instanceEvent.create({
      data: {
        instanceId: theirs.instance.id,
        projectId: theirs.project.id,
        kind: 'guest_restarted',
        message: 'theirs',
      },
    });

    const caller = h.callerFor(mine.owner);
    const events = await caller.instanceEvent.list({
      projectId: mine.project.id,
      instanceId: mine.instance.id,
    });
    expect(events.map((event) => [event.kind, event.message])).toEqual([
      ['server_crash_loop', 'gave up'],
      ['server_restarted', 'second restart'],
      ['server_restarted', 'first restart'],
    ]);
    expect(Object.keys(events[0]!).sort()).toEqual(['createdAt', 'id', 'kind', 'message']);
    expect(
      await caller.instanceEvent.list({
        projectId: mine.project.id,
        instanceId: mine.instance.id,
        limit: 1,
      }),
    ).toHaveLength(1);

    // Another project's instance, through my project or through theirs: not found.
    expect(
      await codeOf(
        caller.instanceEvent.list({ projectId: mine.project.id, instanceId: theirs.instance.id }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      await codeOf(
        caller.instanceEvent.list({ projectId: theirs.project.id, instanceId: theirs.instance.id }),
      ),
    ).toBe('NOT_FOUND');
    // Bad input changes nothing and says so.
    expect(
      await codeOf(caller.instanceEvent.list({ projectId: mine.project.id, instanceId: 'nope' })),
    ).toBe('BAD_REQUEST');
    expect(
      await codeOf(
        caller.instanceEvent.list({
          projectId: mine.project.id,
          instanceId: mine.instance.id,
          limit: 1000,
        }),
      ),
    ).toBe('BAD_REQUEST');
  });
});
