import { createDecipheriv, createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { backupChunkAad } from '@coffer/contracts';
import { projectBackupKey } from '@coffer/contracts/crypto';
import { registerSecret } from '@coffer/testing/secrets';
import { waitFor } from '@coffer/testing/wait';
import { type RunningWorker } from '@coffer/worker';
import { TRPCError } from '@trpc/server';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Harness } from '~/test/harness';
import { changeOf, waitForStatus } from '~/test/live';
import { endTestWorkerFile, startTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * Database logs (issue 16 part 3) through the API, for real: the tRPC procedures, the real
 * worker in this process (its object store a local directory), a real guest and mariadbd.
 * What the server writes is produced over its root socket, behind the API's back; what the
 * API shows must have every password masked. One instance for the whole file.
 */

let worker: RunningWorker;
const suffix = randomUUID().slice(0, 8);
const queuePrefix = `test-log-${suffix}`;
const dataDir = testDataDir('web-log');
const h = useHarness({ env: { COFFER_QUEUE_PREFIX: queuePrefix } });

let owner: Awaited<ReturnType<Harness['createProjectWithOwner']>>;
let instanceId: string;
let serverRoot: Connection;
/** The general log published by the masking test (downloaded again once the instance is gone). */
let publishedObject: string;

/** Passwords the server's own log holds verbatim, which nothing the API returns may. */
const alterPassword = `Log-alter-${randomUUID()}`;
const setPassword = `Log-set-${randomUUID()}`;
registerSecret('instance-log test: ALTER USER password', alterPassword);
registerSecret('instance-log test: SET PASSWORD password', setPassword);

function agentDatastore(): { runDir: string; logDir: string } {
  const agent = JSON.parse(
    readFileSync(join(dataDir, 'instances', instanceId, 'etc', 'guest-agent.json'), 'utf8'),
  ) as { datastore: { runDir: string; logDir: string } };
  return agent.datastore;
}

function rootConnection(): Promise<Connection> {
  return mysql.createConnection({
    socketPath: join(agentDatastore().runDir, 'mysqld.sock'),
    user: 'root',
  });
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'OK',
    (error: unknown) => (error instanceof TRPCError ? error.code : String(error)),
  );

beforeAll(async () => {
  worker = await startTestWorker(h, {
    dataDir,
    heartbeatExpirySeconds: 60,
    names: {
      queuePrefix,
      conductorStream: `test-log-conductor-${suffix}`,
      conductorGroup: `test-log-conductor-${suffix}`,
      keyPrefix: `test-log-${suffix}`,
    },
    tuning: { guestCallTimeoutMs: 20_000 },
  });
  owner = await h.createProjectWithOwner('Logs');
  const caller = h.callerFor(owner.owner);
  const flavor = (await caller.catalog.flavors())[0]!;
  const created = await caller.instance.create({
    projectId: owner.project.id,
    name: 'logged-db',
    flavorId: flavor.id,
    volumeSizeGb: 1,
  });
  instanceId = created.id;
  const live = await caller.instance.onChange({ projectId: owner.project.id, instanceId });
  await waitForStatus(live, instanceId, ['ACTIVE', 'ERROR'], 120_000);
  expect((await caller.instance.get({ projectId: owner.project.id, instanceId })).status).toBe(
    'ACTIVE',
  );
  serverRoot = await rootConnection();
}, 240_000);

afterAll(async () => {
  await serverRoot?.end();
  await endTestWorkerFile(worker, {
    dataDir,
    redisKeys: [`${queuePrefix}:*`, `test-log-conductor-${suffix}*`],
  });
}, 120_000);

describe('database logs on a real instance', () => {
  it('the slow query log, once enabled, shows a SELECT SLEEP(2) within seconds', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const before = await caller.log.list(at);
    expect(before.map((log) => [log.name, log.enabled])).toEqual([
      ['error', true],
      ['slow', false],
      ['general', false],
    ]);
    expect(await codeOf(caller.log.enable({ ...at, name: 'error' }))).toBe('BAD_REQUEST');

    expect(await caller.log.enable({ ...at, name: 'slow' })).toMatchObject({
      name: 'slow',
      enabled: true,
    });
    const [[variables]] = (await serverRoot.query(
      'SELECT @@GLOBAL.slow_query_log AS slow, @@GLOBAL.long_query_time AS longQueryTime',
    )) as unknown as [[{ slow: number; longQueryTime: number }]];
    expect(variables).toEqual({ slow: 1, longQueryTime: 1 });

    // A session takes long_query_time when it connects: a new one.
    const client = await rootConnection();
    const marker = `slow_marker_${suffix}`;
    const started = Date.now();
    try {
      await client.query(`SELECT SLEEP(2) AS ${marker}`);
    } finally {
      await client.end();
    }
    const tail = await waitFor(() => caller.log.show({ ...at, name: 'slow', search: marker }), {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'the slow query in the slow log tail',
      until: (shown) => shown.lines.some((line) => line.includes(`SLEEP(2) AS ${marker}`)),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(tail.lines.every((line) => line.toLowerCase().includes(marker))).toBe(true);

    // Following from the offset: nothing new, then only what came after.
    const next = await caller.log.show({ ...at, name: 'slow', after: tail.offset });
    expect(next.lines).toEqual([]);

    // The console's live tail by offset: its end, then only what was written since.
    const opened = await caller.log.tail({ ...at, name: 'slow' });
    expect(opened.lines.join('\n')).toContain(`SLEEP(2) AS ${marker}`);
    const idle = await caller.log.tail({
      ...at,
      name: 'slow',
      fromOffset: opened.offset,
      fileId: opened.fileId,
    });
    expect(idle).toMatchObject({ lines: [], offset: opened.offset, isRestarted: false });
    const second = `slow_tail_${suffix}`;
    const again = await rootConnection();
    try {
      await again.query(`SELECT SLEEP(1.2) AS ${second}`);
    } finally {
      await again.end();
    }
    const followed = await waitFor(
      () =>
        caller.log.tail({ ...at, name: 'slow', fromOffset: opened.offset, fileId: opened.fileId }),
      {
        timeoutMs: 10_000,
        intervalMs: 250,
        what: 'the second slow query in the tail by offset',
        until: (step) => step.lines.some((line) => line.includes(second)),
      },
    );
    expect(followed.lines.join('\n')).not.toContain(marker);
    expect(followed.offset).toBeGreaterThan(opened.offset);
    expect((await caller.log.list(at)).find((log) => log.name === 'slow')).toMatchObject({
      enabled: true,
    });
  });

  it('the general log shows statements that set passwords masked, in the tail, the download and a published copy', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    await caller.log.enable({ ...at, name: 'general' });
    const user = `logged_${suffix}`;
    await serverRoot.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${alterPassword}x'`);
    await serverRoot.query(`ALTER USER '${user}'@'%' IDENTIFIED BY '${alterPassword}'`);
    await serverRoot.query(`SET PASSWORD FOR '${user}'@'%' = PASSWORD('${setPassword}')`);

    // The server's own file has them verbatim (what the masking is for).
    const raw = readFileSync(join(agentDatastore().logDir, 'general.log'), 'utf8');
    expect(raw).toContain(alterPassword);
    expect(raw).toContain(setPassword);

    const tail = await waitFor(() => caller.log.show({ ...at, name: 'general', search: user }), {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'the password statements in the general log tail',
      until: (shown) => shown.lines.some((line) => line.includes('SET PASSWORD')),
    });
    const shown = tail.lines.join('\n');
    expect(shown).toContain(`ALTER USER '${user}'@'%' IDENTIFIED BY '***'`);
    expect(shown).toContain(`SET PASSWORD FOR '${user}'@'%' = '***'`);
    expect(shown).not.toContain(alterPassword);
    expect(shown).not.toContain(setPassword);

    const download = await caller.log.download({ ...at, name: 'general' });
    expect(download.fileName).toBe('logged-db-general.log');
    expect(download.text).toContain(`ALTER USER '${user}'@'%' IDENTIFIED BY '***'`);
    expect(download.text).not.toContain(alterPassword);
    expect(download.text).not.toContain(setPassword);

    // Published: sealed in the object store under the instance's prefix; it opens with the
    // project's backup key to the masked log.
    const published = await caller.log.publish({ ...at, name: 'general' });
    expect(published.object.startsWith(`logs/${owner.project.id}/${instanceId}/`)).toBe(true);
    const stored = readFileSync(join(dataDir, 'backups', published.object));
    expect(stored.length).toBe(published.size);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(published.sha256);
    expect(stored.includes(Buffer.from(user))).toBe(false);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      projectBackupKey(process.env.COFFER_MASTER_KEY!, owner.project.id),
      Buffer.from(published.iv, 'base64'),
    );
    decipher.setAAD(Buffer.from(backupChunkAad(published.publishId, 0)));
    decipher.setAuthTag(Buffer.from(published.tag, 'base64'));
    const opened = Buffer.concat([decipher.update(stored), decipher.final()]).toString('utf8');
    expect(opened).toContain(`ALTER USER '${user}'@'%' IDENTIFIED BY '***'`);
    expect(opened).not.toContain(alterPassword);
    expect(opened).not.toContain(setPassword);
    expect((await caller.log.published(at)).map((copy) => copy.publishId)).toContain(
      published.publishId,
    );
    expect(published.instanceName).toBe('logged-db');

    // Downloaded through Coffer: opened by the worker with the project's key, masked.
    const file = await caller.log.downloadPublished({
      projectId: owner.project.id,
      object: published.object,
    });
    expect(file.text).toBe(opened);
    expect(file.fileName).toMatch(/^logged-db-general-.*\.log$/);
    publishedObject = published.object;
    await serverRoot.query(`DROP USER '${user}'@'%'`);
  });

  it('a log past the cap the tenant set is rotated, its rotated file masked, and the server goes on writing the new one', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const capped = await caller.log.setCap({ ...at, name: 'general', capBytes: 1024 * 1024 });
    expect(capped).toMatchObject({ enabled: true, capBytes: 1024 * 1024, isCapSet: true });
    const filler = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 5; i++) await serverRoot.query(`SELECT '${filler}' AS f${i}`);
    const rotated = await waitFor(() => caller.log.list(at), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'the general log rotated',
      until: (logs) => logs.some((log) => log.name === 'general' && log.rotatedFiles > 0),
    });
    expect(rotated.find((log) => log.name === 'general')!.sizeBytes).toBeLessThan(capped.maxBytes);
    // The masking test's password statements are in the rotated file now: masked on the volume.
    const onVolume = readFileSync(join(agentDatastore().logDir, 'general.log.1'), 'utf8');
    expect(onVolume).toContain(`IDENTIFIED BY '***'`);
    expect(onVolume).not.toContain(alterPassword);
    expect(onVolume).not.toContain(setPassword);
    const marker = `after_rotation_${suffix}`;
    await serverRoot.query(`SELECT 1 AS ${marker}`);
    await waitFor(() => caller.log.show({ ...at, name: 'general', search: marker }), {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: 'a statement after the rotation in the new general log',
      until: (shown) => shown.lines.length > 0,
    });

    expect(await caller.log.disable({ ...at, name: 'general' })).toMatchObject({
      enabled: false,
    });
    const [[variables]] = (await serverRoot.query(
      'SELECT @@GLOBAL.general_log AS general',
    )) as unknown as [[{ general: number }]];
    expect(variables.general).toBe(0);
  }, 60_000);

  it('what is switched on survives a restart of the server', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    expect((await caller.instance.restart(at)).status).toBe('REBOOT');
    const live = await caller.instance.onChange(at);
    expect((await waitForStatus(live, instanceId, ['ACTIVE', 'ERROR'])).at(-1)).toBe('ACTIVE');
    await serverRoot.end().catch(() => undefined);
    serverRoot = await rootConnection();
    const [[variables]] = (await serverRoot.query(
      'SELECT @@GLOBAL.slow_query_log AS slow, @@GLOBAL.long_query_time AS longQueryTime, @@GLOBAL.general_log AS general',
    )) as unknown as [[{ slow: number; longQueryTime: number; general: number }]];
    expect(variables).toEqual({ slow: 1, longQueryTime: 1, general: 0 });
  }, 60_000);

  it("another project's tenant gets NOT_FOUND for every log procedure, and nothing changes", async () => {
    const other = await h.createProjectWithOwner('Other');
    const callerB = h.callerFor(other.owner);
    for (const projectId of [other.project.id, owner.project.id]) {
      const at = { projectId, instanceId };
      for (const call of [
        () => callerB.log.list(at),
        () => callerB.log.enable({ ...at, name: 'general' }),
        () => callerB.log.disable({ ...at, name: 'slow' }),
        () => callerB.log.show({ ...at, name: 'error' }),
        () => callerB.log.download({ ...at, name: 'error' }),
        () => callerB.log.publish({ ...at, name: 'error' }),
        () => callerB.log.published(at),
        () => callerB.log.tail({ ...at, name: 'general', fromOffset: 0 }),
        () => callerB.log.setCap({ ...at, name: 'general', capBytes: null }),
        () => callerB.log.downloadPublished({ projectId, object: publishedObject }),
      ]) {
        expect(await codeOf(call())).toBe('NOT_FOUND');
      }
    }
    // Their own project lists none of it.
    expect(await callerB.log.projectPublished({ projectId: other.project.id })).toEqual([]);
    const logs = await h.callerFor(owner.owner).log.list({
      projectId: owner.project.id,
      instanceId,
    });
    expect(logs.map((log) => [log.name, log.enabled])).toEqual([
      ['error', true],
      ['slow', true],
      ['general', false],
    ]);
  });

  it("the slow query log takes long_query_time from the instance's configuration group", async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const version = await h.prisma.datastoreVersion.findFirstOrThrow({
      where: { isDefault: true },
    });
    const group = await caller.configuration.create({
      projectId: owner.project.id,
      name: 'slow-threshold',
      datastoreVersionId: version.id,
      values: { long_query_time: 0.5 },
    });
    await caller.configuration.attach({ ...at, groupId: group.id });
    await waitFor(async () => !(await caller.configuration.instance(at)).isApplyPending, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the group applied',
    });
    await caller.log.disable({ ...at, name: 'slow' });
    await caller.log.enable({ ...at, name: 'slow' });
    const [[variables]] = (await serverRoot.query(
      'SELECT @@GLOBAL.slow_query_log AS slow, @@GLOBAL.long_query_time AS longQueryTime',
    )) as unknown as [[{ slow: number; longQueryTime: number }]];
    expect(variables).toEqual({ slow: 1, longQueryTime: 0.5 });
  });

  it('a published log outlives its instance: listed in the project and downloaded after the delete', async () => {
    const caller = h.callerFor(owner.owner);
    const at = { projectId: owner.project.id, instanceId };
    const feed = await caller.instance.onChange(at);
    await caller.instance.delete(at);
    for await (const envelope of feed) {
      if (changeOf(envelope).type === 'deleted') break;
    }
    await waitFor(() => h.prisma.instance.findUnique({ where: { id: instanceId } }), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'the instance gone',
      until: (row) => row === null || row.deletedAt !== null,
    });
    expect(await codeOf(caller.log.published(at))).toBe('NOT_FOUND');
    const listed = await caller.log.projectPublished({ projectId: owner.project.id });
    const copy = listed.find((entry) => entry.object === publishedObject);
    expect(copy).toMatchObject({
      instanceId,
      instanceName: 'logged-db',
      isInstanceDeleted: true,
      name: 'general',
    });
    const file = await caller.log.downloadPublished({
      projectId: owner.project.id,
      object: publishedObject,
    });
    expect(file.text).toContain(`IDENTIFIED BY '***'`);
    expect(file.text).not.toContain(alterPassword);
    // Another project's member cannot, whichever project they name.
    const other = await h.createProjectWithOwner('Stranger');
    const callerB = h.callerFor(other.owner);
    for (const projectId of [other.project.id, owner.project.id]) {
      expect(
        await codeOf(callerB.log.downloadPublished({ projectId, object: publishedObject })),
      ).toBe('NOT_FOUND');
    }
  }, 120_000);
}, 180_000);
