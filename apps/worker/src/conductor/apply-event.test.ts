import { createTestDatabase, type TestDatabase } from '@coffer/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyInstanceEvent, type GuestEvent } from './apply-event';

/**
 * A guest's event lands in its instance's timeline once, whatever the order and however often
 * it is delivered (at-least-once: a reclaimed entry comes again); a deleted instance's is dropped.
 */

let db: TestDatabase;
let projectId: string;

async function newInstance(name: string): Promise<string> {
  const flavor = await db.prisma.flavor.findFirstOrThrow();
  const version = await db.prisma.datastoreVersion.findFirstOrThrow({ where: { isDefault: true } });
  const row = await db.prisma.instance.create({
    data: {
      projectId,
      name,
      flavorId: flavor.id,
      datastoreVersionId: version.id,
      volumeSizeGb: 1,
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
    },
  });
  return row.id;
}

const restarted = (instanceId: string, sentAt: number, seq: number): GuestEvent => ({
  instanceId,
  sentAt,
  seq,
  payload: { kind: 'server_restarted', message: `restart at ${seq}` },
});

beforeAll(async () => {
  db = await createTestDatabase();
  projectId = (await db.prisma.project.create({ data: { name: 'events' } })).id;
});

afterAll(() => db?.drop());

describe('instance events', () => {
  it('are recorded once per message, in any order, with the instance’s project', async () => {
    const instanceId = await newInstance('a');
    const now = Date.now();
    expect(await applyInstanceEvent(db.prisma, restarted(instanceId, now, 7))).toEqual({
      isApplied: true,
      projectId,
    });
    // The same message again (a reclaimed entry): nothing new.
    expect(await applyInstanceEvent(db.prisma, restarted(instanceId, now, 7))).toEqual({
      isApplied: false,
    });
    // An older one arriving late is still an event.
    expect(await applyInstanceEvent(db.prisma, restarted(instanceId, now - 5000, 3))).toEqual({
      isApplied: true,
      projectId,
    });
    const rows = await db.prisma.instanceEvent.findMany({
      // The guest's events (the database records the instance's own changes beside them).
      where: { instanceId, guestSeq: { not: null } },
      orderBy: { guestSeq: 'asc' },
    });
    expect(rows.map((row) => [row.kind, row.message, row.projectId])).toEqual([
      ['server_restarted', 'restart at 3', projectId],
      ['server_restarted', 'restart at 7', projectId],
    ]);
  });

  it('of a deleted instance are dropped, and go with the instance', async () => {
    const instanceId = await newInstance('b');
    await applyInstanceEvent(db.prisma, restarted(instanceId, Date.now(), 1));
    await db.prisma.instance.update({ where: { id: instanceId }, data: { deletedAt: new Date() } });
    expect(await applyInstanceEvent(db.prisma, restarted(instanceId, Date.now(), 2))).toEqual({
      isApplied: false,
    });
    await db.prisma.instance.delete({ where: { id: instanceId } });
    expect(await db.prisma.instanceEvent.count({ where: { instanceId } })).toBe(0);
  });
});
