import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createProject, createUserWithPassword } from '../factories';
import { type TestDatabase, createTestDatabase } from '../testing';
import { clearedFault, faultFields, notFaultCoded } from './faults';

describe('faultFields / clearedFault', () => {
  it('always writes all four columns: a fault without a code or details has none', () => {
    const at = new Date('2026-12-05T12:00:00Z');
    expect(faultFields({ message: 'The restart was interrupted.' }, at)).toEqual({
      faultMessage: 'The restart was interrupted.',
      faultDetails: null,
      faultCode: null,
      faultAt: at,
    });
    expect(
      faultFields({ message: 'The volume is full: …', details: 'statfs', code: 'VOLUME_FULL' }, at),
    ).toEqual({
      faultMessage: 'The volume is full: …',
      faultDetails: 'statfs',
      faultCode: 'VOLUME_FULL',
      faultAt: at,
    });
    expect(faultFields({ message: 'now' }).faultAt).toBeInstanceOf(Date);
    expect(clearedFault()).toEqual({
      faultMessage: null,
      faultDetails: null,
      faultCode: null,
      faultAt: null,
    });
  });
});

describe('on an instance row', () => {
  let db: TestDatabase;
  let instanceId: string;

  beforeAll(async () => {
    db = await createTestDatabase({ mariadbVersion: '10.11.19' });
    const user = await createUserWithPassword(db.prisma, {
      email: 'faults@example.test',
      name: 'Faults',
      password: 'correct horse battery staple',
    });
    const project = await createProject(db.prisma, { name: 'faults', ownerUserId: user.id });
    const flavor = await db.prisma.flavor.findFirstOrThrow();
    const version = await db.prisma.datastoreVersion.findFirstOrThrow();
    const instance = await db.prisma.instance.create({
      data: {
        projectId: project.id,
        name: 'db',
        flavorId: flavor.id,
        datastoreVersionId: version.id,
        volumeSizeGb: 1,
      },
    });
    instanceId = instance.id;
  });

  afterAll(async () => {
    await db?.drop();
  });

  const faultOf = () =>
    db.prisma.instance.findUniqueOrThrow({
      where: { id: instanceId },
      select: { faultMessage: true, faultDetails: true, faultCode: true, faultAt: true },
    });
  const matches = async (where: ReturnType<typeof notFaultCoded>) =>
    (await db.prisma.instance.count({ where: { id: instanceId, ...where } })) === 1;

  it('a new fault replaces the code of the one before: no VOLUME_FULL outlives its message', async () => {
    expect(await matches(notFaultCoded('VOLUME_FULL'))).toBe(true); // no fault at all

    await db.prisma.instance.update({
      where: { id: instanceId },
      data: faultFields({ message: 'The volume is full: 1 GiB of 1 GiB', code: 'VOLUME_FULL' }),
    });
    expect(await faultOf()).toMatchObject({ faultCode: 'VOLUME_FULL', faultDetails: null });
    expect(await matches(notFaultCoded('VOLUME_FULL'))).toBe(false);

    await db.prisma.instance.updateMany({
      where: { id: instanceId },
      data: faultFields({ message: 'The restart was interrupted.', details: 'no answer' }),
    });
    expect(await faultOf()).toMatchObject({
      faultMessage: 'The restart was interrupted.',
      faultDetails: 'no answer',
      faultCode: null,
    });
    expect(await matches(notFaultCoded('VOLUME_FULL'))).toBe(true); // a fault without a code

    await db.prisma.instance.update({ where: { id: instanceId }, data: clearedFault() });
    expect(await faultOf()).toEqual({
      faultMessage: null,
      faultDetails: null,
      faultCode: null,
      faultAt: null,
    });
  });
});
