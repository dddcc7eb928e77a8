import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { clearedFault, faultFields } from '@coffer/db/domain/faults';
import { processesMentioning } from '@coffer/testing/processes';
import { type RunningWorker } from '@coffer/worker';
import { TRPCError } from '@trpc/server';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fieldErrorsOf } from '~/server/errors';
import { changeOf, waitForStatus } from '~/test/live';
import { endTestWorkerFile, startTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * The provisioning path through the API, for real: the tRPC procedures as a tenant calls
 * them, the real worker (taskmanager, conductor, watchdog) in this process, real guests and
 * mariadbd through the local provider, PostgreSQL and Redis.
 */

let worker: RunningWorker;
const dataDir = testDataDir('web-api');
const h = useHarness();

beforeAll(async () => {
  worker = await startTestWorker(h, {
    dataDir,
    heartbeatExpirySeconds: 15,
    // Redis names of this file (the queue's is the web app's, COFFER_QUEUE_PREFIX of the test
    // setup); the change channel stays the web app's, which the tests listen to.
    names: {
      queuePrefix: process.env.COFFER_QUEUE_PREFIX,
      conductorStream: `${process.env.COFFER_QUEUE_PREFIX}-conductor`,
      keyPrefix: `${process.env.COFFER_QUEUE_PREFIX}-keys`,
    },
  });
}, 120_000);

afterAll(async () => {
  // Whatever a failed or asynchronous test left behind (a delete still queued, say) goes with its files.
  await endTestWorkerFile(worker, {
    dataDir,
    redisKeys: [`${process.env.COFFER_QUEUE_PREFIX}*`],
  });
}, 180_000);

describe('an instance through the API', () => {
  it('is created, reaches ACTIVE live, serves its first user, restarts and is deleted without a trace', async () => {
    const { owner, project } = await h.createProjectWithOwner('Provisioning');
    const caller = h.callerFor(owner);
    const flavor = (await caller.catalog.flavors())[0]!;
    const password = 'Sup3r-secret-pw-42';

    const created = await caller.instance.create({
      projectId: project.id,
      name: 'orders-db',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      databases: [{ name: 'orders' }],
      users: [{ name: 'orders_app', host: '%', password, databases: ['orders'] }],
    });
    expect(created.status).toBe('BUILD');
    const ref = { projectId: project.id, instanceId: created.id };

    const live = await caller.instance.onChange(ref);
    const path = await waitForStatus(live, created.id, ['ACTIVE', 'ERROR']);
    const built = await h.prisma.instance.findUniqueOrThrow({ where: { id: created.id } });
    expect(path.at(-1), built.faultMessage ?? '').toBe('ACTIVE');

    const instance = await caller.instance.get(ref);
    expect(instance).toMatchObject({ status: 'ACTIVE', host: '127.0.0.1', name: 'orders-db' });
    // The password was never stored anywhere in the control plane.
    const row = await h.prisma.instance.findUniqueOrThrow({ where: { id: created.id } });
    expect(
      JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ).not.toContain(password);

    const connectAsApp = () =>
      mysql.createConnection({
        host: instance.host!,
        port: instance.port!,
        user: 'orders_app',
        password,
        database: 'orders',
      });
    const connection = await connectAsApp();
    await connection.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40))');
    await connection.query('INSERT INTO items VALUES (1, ?)', ['coffee']);
    const [rows] = await connection.query('SELECT name FROM items');
    expect(rows).toEqual([{ name: 'coffee' }]);
    await connection.end();

    // Restart: REBOOT, then ACTIVE again, and the data is still there.
    const restartFeed = await caller.instance.onChange(ref);
    const restarting = await caller.instance.restart(ref);
    expect(restarting.status).toBe('REBOOT');
    await expect(caller.instance.restart(ref)).rejects.toMatchObject({ code: 'CONFLICT' });
    const restartPath = await waitForStatus(restartFeed, created.id, ['ACTIVE', 'ERROR']);
    expect(restartPath.at(-1)).toBe('ACTIVE');
    const again = await connectAsApp();
    const [after] = await again.query('SELECT COUNT(*) AS n FROM items');
    expect(after).toEqual([{ n: 1 }]);
    await again.end();

    // Delete: processes, files and the row go.
    const deleteFeed = await caller.instance.onChange(ref);
    const deleting = await caller.instance.delete(ref);
    expect(deleting.status).toBe('DELETING');
    for await (const envelope of deleteFeed) {
      if (changeOf(envelope).type === 'deleted') break;
    }
    expect(await h.prisma.instance.findUnique({ where: { id: created.id } })).toBeNull();
    expect(existsSync(join(dataDir, 'instances', created.id))).toBe(false);
    expect(processesMentioning(created.id)).toEqual([]);
    await expect(caller.instance.get(ref)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 240_000);

  it('a double submit with the same request id is one instance', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    const flavor = (await caller.catalog.flavors())[0]!;
    const requestId = randomUUID();
    const input = {
      projectId: project.id,
      name: 'twice',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      requestId,
    };
    // Both submits at once get the same instance, whichever takes the project lock first; so does a later one.
    const [a, b] = await Promise.all([
      caller.instance.create(input),
      caller.instance.create(input),
    ]);
    expect(b.id).toBe(a.id);
    const again = await caller.instance.create(input);
    expect(again.id).toBe(a.id);
    expect(await h.prisma.instance.count({ where: { projectId: project.id } })).toBe(1);
    await caller.instance.delete({ projectId: project.id, instanceId: a.id });
  }, 60_000);

  it('shows a fault with its code, which clients match instead of its text', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    const full = 'The volume is full: 1.0 GiB of 1.0 GiB used; grow the volume.';
    const row = await h.insertInstance(project.id, {
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
      ...faultFields({ message: full, code: 'VOLUME_FULL' }),
    });
    const ref = { projectId: project.id, instanceId: row.id };
    expect(await caller.instance.get(ref)).toMatchObject({
      faultMessage: full,
      faultCode: 'VOLUME_FULL',
    });
    // A fault without a code, and a code this build does not know (a newer one wrote it): none.
    await h.prisma.instance.update({
      where: { id: row.id },
      data: faultFields({ message: 'The restart was interrupted.' }),
    });
    expect(await caller.instance.get(ref)).toMatchObject({
      faultMessage: 'The restart was interrupted.',
      faultCode: null,
    });
    await h.prisma.instance.update({ where: { id: row.id }, data: { faultCode: 'FROM_LATER' } });
    expect((await caller.instance.get(ref)).faultCode).toBeNull();
    await h.prisma.instance.update({ where: { id: row.id }, data: clearedFault() });
    expect(await caller.instance.get(ref)).toMatchObject({ faultMessage: null, faultCode: null });
  });
});

describe('instance procedures are tenant-scoped', () => {
  it('another project gets NOT_FOUND for every procedure and the subscription, and a viewer cannot mutate', async () => {
    const a = await h.createProjectWithOwner('A');
    const b = await h.createProjectWithOwner('B');
    const row = await h.insertInstance(a.project.id, {
      name: 'a-only',
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
    });
    const callerB = h.callerFor(b.owner);
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'OK',
        (error: unknown) => (error instanceof TRPCError ? error.code : String(error)),
      );

    // B names A's project: not found.
    expect(
      await codeOf(callerB.instance.get({ projectId: a.project.id, instanceId: row.id })),
    ).toBe('NOT_FOUND');
    expect(await codeOf(callerB.instance.list({ projectId: a.project.id }))).toBe('NOT_FOUND');
    expect(await codeOf(callerB.instance.onChange({ projectId: a.project.id }))).toBe('NOT_FOUND');
    // B names its own project with A's instance id: not found, and nothing changes.
    for (const call of [
      () => callerB.instance.get({ projectId: b.project.id, instanceId: row.id }),
      () => callerB.instance.restart({ projectId: b.project.id, instanceId: row.id }),
      () => callerB.instance.delete({ projectId: b.project.id, instanceId: row.id }),
      // Its database logs (issue 16): read, switched, published, listed.
      () => callerB.log.list({ projectId: b.project.id, instanceId: row.id }),
      () => callerB.log.show({ projectId: b.project.id, instanceId: row.id, name: 'error' }),
      () => callerB.log.download({ projectId: b.project.id, instanceId: row.id, name: 'error' }),
      () => callerB.log.enable({ projectId: b.project.id, instanceId: row.id, name: 'slow' }),
      () => callerB.log.publish({ projectId: b.project.id, instanceId: row.id, name: 'error' }),
      () => callerB.log.published({ projectId: b.project.id, instanceId: row.id }),
    ]) {
      expect(await codeOf(call())).toBe('NOT_FOUND');
    }
    expect(await h.prisma.instance.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      taskStatus: 'NONE',
      deletedAt: null,
    });
    expect(await callerB.instance.list({ projectId: b.project.id })).toEqual([]);

    // B's subscription never carries A's changes. First make sure B's feed hears Redis: publish
    // changes of B's own row until one arrives (only the web's subscriber connection can carry
    // it; counting the channel's subscribers would count the in-process worker's too). Then a
    // change of A, then a marker of B (an instance of B that does not exist, which B's feed
    // reports deleted): until the marker, B hears nothing but its own row.
    const { publishChange } = await import('~/server/events');
    const rowB = await h.insertInstance(b.project.id, {
      name: 'b-only',
      taskStatus: 'NONE',
      serviceStatus: 'RUNNING',
    });
    const feedB = (await callerB.instance.onChange({ projectId: b.project.id }))[
      Symbol.asyncIterator
    ]();
    const snapshot = changeOf((await feedB.next()).value);
    expect(snapshot.instance?.id).toBe(rowB.id);
    const heard = feedB.next();
    for (const deadline = Date.now() + 10_000; ;) {
      await publishChange({
        type: 'instance.changed',
        projectId: b.project.id,
        instanceId: rowB.id,
      });
      const first = await Promise.race([
        heard,
        new Promise<null>((tick) => setTimeout(() => tick(null), 100)),
      ]);
      if (first) {
        expect(changeOf(first.value)).toMatchObject({ type: 'changed', instance: { id: rowB.id } });
        break;
      }
      if (Date.now() > deadline) throw new Error("B's change feed never heard a change of B");
    }
    await publishChange({ type: 'instance.changed', projectId: a.project.id, instanceId: row.id });
    const marker = randomUUID();
    await publishChange({ type: 'instance.changed', projectId: b.project.id, instanceId: marker });
    const heardAfter: unknown[] = [];
    for (;;) {
      const change = changeOf((await feedB.next()).value);
      if (change.type === 'deleted' && change.instanceId === marker) break;
      heardAfter.push(change);
    }
    // Only the handshake's surplus changes of B's row may come before the marker.
    for (const change of heardAfter)
      expect(change).toMatchObject({ type: 'changed', instance: { id: rowB.id } });
    await feedB.return?.(undefined);
    await h.prisma.instance.delete({ where: { id: rowB.id } });

    // A viewer of A can read but not create, restart or delete.
    const viewer = await h.createUser('viewer');
    await h.addMembership(a.project.id, viewer.id, 'VIEWER');
    const callerViewer = h.callerFor(viewer);
    expect(
      (await callerViewer.instance.list({ projectId: a.project.id })).map((i) => i.id),
    ).toEqual([row.id]);
    expect(
      await codeOf(callerViewer.instance.restart({ projectId: a.project.id, instanceId: row.id })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(callerViewer.instance.delete({ projectId: a.project.id, instanceId: row.id })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(
        callerViewer.instance.create({
          projectId: a.project.id,
          name: 'nope',
          flavorId: row.flavorId,
          volumeSizeGb: 1,
        }),
      ),
    ).toBe('FORBIDDEN');
    await h.prisma.instance.deleteMany({ where: { id: row.id } });
  }, 60_000);
});

describe('create validation', () => {
  it('answers bad input with field errors and writes nothing', async () => {
    const { owner, project } = await h.createProjectWithOwner();
    const caller = h.callerFor(owner);
    const flavor = (await caller.catalog.flavors())[0]!;
    const base = {
      projectId: project.id,
      name: 'valid-name',
      flavorId: flavor.id,
      volumeSizeGb: 1,
    };
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['empty name', { name: '' }, 'name'],
      ['name with spaces and quotes', { name: "x'; DROP TABLE instances; --" }, 'name'],
      ['over-long name', { name: 'n'.repeat(65) }, 'name'],
      ['volume too small', { volumeSizeGb: 0 }, 'volumeSizeGb'],
      ['volume too large', { volumeSizeGb: 100_000 }, 'volumeSizeGb'],
      ['fractional volume', { volumeSizeGb: 1.5 }, 'volumeSizeGb'],
      ['unknown flavor', { flavorId: randomUUID() }, 'flavorId'],
      [
        'database name with a backtick',
        { databases: [{ name: 'x`; DROP DATABASE y; --' }] },
        'databases.0.name',
      ],
      ['system schema', { databases: [{ name: 'mysql' }] }, 'databases.0.name'],
      ['unicode look-alike', { databases: [{ name: 'аpp' }] }, 'databases.0.name'],
      [
        'user named root',
        {
          databases: [{ name: 'app' }],
          users: [{ name: 'root', password: 'Str0ng-password!', databases: ['app'] }],
        },
        'users.0.name',
      ],
      [
        'weak password',
        {
          databases: [{ name: 'app' }],
          users: [{ name: 'app_user', password: 'short', databases: ['app'] }],
        },
        'users.0.password',
      ],
      [
        'grant on an unknown database',
        {
          databases: [{ name: 'app' }],
          users: [{ name: 'app_user', password: 'Str0ng-password!', databases: ['other'] }],
        },
        'users.0.databases.0',
      ],
      [
        'bad host',
        {
          databases: [{ name: 'app' }],
          users: [
            { name: 'app_user', host: 'x y', password: 'Str0ng-password!', databases: ['app'] },
          ],
        },
        'users.0.host',
      ],
    ];
    const before = await h.prisma.instance.count();
    for (const [label, patch, field] of cases) {
      const error = await caller.instance.create({ ...base, ...patch } as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, label).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code, label).toBe('BAD_REQUEST');
      expect(Object.keys(fieldErrorsOf((error as TRPCError).cause) ?? {}), label).toContain(field);
    }
    expect(await h.prisma.instance.count()).toBe(before);
  });
});
