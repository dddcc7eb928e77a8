import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { type RunningWorker } from '@coffer/worker';
import { type TRPCError } from '@trpc/server';
import { waitFor } from '@coffer/testing/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fieldErrorsOf as fieldErrorsOfCause } from '~/server/errors';
import { waitForStatus } from '~/test/live';
import { startTestWorker, stopTestWorker, testDataDir, useHarness } from '~/test/suite';

/**
 * Allowed sources through the API (issue 13): `access` at create, `instance.setAccess` later,
 * applied by the taskmanager to the server (the local provider's record and nftables rules);
 * hostile sources refused with nothing changed; database users' hosts held inside them, at
 * create, when a user is made or moved, and when the sources are narrowed.
 */

let worker: RunningWorker;
const dataDir = testDataDir('web-access');
const h = useHarness();

beforeAll(async () => {
  worker = await startTestWorker(h, {
    dataDir,
    env: {
      COFFER_HEARTBEAT_INTERVAL_SECONDS: '1',
      COFFER_HEARTBEAT_EXPIRY_SECONDS: '15',
      COFFER_CREATE_TIMEOUT_SECONDS: '120',
    },
    names: {
      queuePrefix: process.env.COFFER_QUEUE_PREFIX,
      conductorStream: `${process.env.COFFER_QUEUE_PREFIX}-access-conductor`,
      keyPrefix: `${process.env.COFFER_QUEUE_PREFIX}-access-keys`,
    },
  });
}, 120_000);

afterAll(async () => {
  await stopTestWorker(worker);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A failed call's field errors (input validation's, or a CofferError's). */
const fieldErrorsOf = (error: unknown) =>
  fieldErrorsOfCause((error as TRPCError).cause) ?? fieldErrorsOfCause(error);

/** What the server was given: the local provider's record. */
function serverSources(instanceId: string): { isPublic: boolean; cidrs: string[] } {
  const record = JSON.parse(
    readFileSync(join(dataDir, 'instances', instanceId, 'server.json'), 'utf8'),
  ) as { allowedSources: { isPublic: boolean; cidrs: string[] } };
  return record.allowedSources;
}

describe('allowed sources through the API', () => {
  it('at create and later, applied to the server; hostile sources and outside hosts are refused and change nothing', async () => {
    const { owner, project } = await h.createProjectWithOwner('Access');
    const caller = h.callerFor(owner);
    const flavor = (await caller.catalog.flavors())[0]!;

    // At create: an initial user's host must fall inside the sources.
    const outsideUser = await caller.instance
      .create({
        projectId: project.id,
        name: 'outside',
        flavorId: flavor.id,
        volumeSizeGb: 1,
        access: { allowedCidrs: ['10.0.0.0/8'] },
        users: [{ name: 'app', host: '192.168.1.%', password: 'Sup3r-secret-pw-42' }],
      })
      .catch((error: unknown) => error);
    expect(fieldErrorsOf(outsideUser)?.['users.0.host']?.[0]).toMatch(/outside/);

    const created = await caller.instance.create({
      projectId: project.id,
      name: 'guarded',
      flavorId: flavor.id,
      volumeSizeGb: 1,
      access: { isPublic: false, allowedCidrs: ['10.1.0.0/16', 'FD00::/8'] },
      users: [{ name: 'app', host: '10.1.%', password: 'Sup3r-secret-pw-42' }],
    });
    expect(created).toMatchObject({ isPublic: false, allowedCidrs: ['10.1.0.0/16', 'fd00::/8'] });
    const ref = { projectId: project.id, instanceId: created.id };
    const live = await caller.instance.onChange(ref);
    const path = await waitForStatus(live, created.id, ['ACTIVE', 'ERROR']);
    expect(path.at(-1)).toBe('ACTIVE');
    expect(serverSources(created.id)).toEqual({
      isPublic: false,
      cidrs: ['10.1.0.0/16', 'fd00::/8'],
    });

    // Hostile sources: refused with a clear message, and neither the row nor the server changes.
    const hostile: { input: { isPublic?: boolean; allowedCidrs: string[] }; message: RegExp }[] = [
      { input: { allowedCidrs: ['not a cidr'] }, message: /not a CIDR/ },
      { input: { allowedCidrs: ['10.0.0.1/8'] }, message: /host bits/ },
      { input: { allowedCidrs: ['0.0.0.0/0'] }, message: /private instance cannot allow/ },
      { input: { isPublic: false, allowedCidrs: ['::/0'] }, message: /private instance/ },
      {
        input: { allowedCidrs: Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.0.0/16`) },
        message: /At most 100/,
      },
      { input: { allowedCidrs: ['1'.repeat(1000)] }, message: /at most 64/ },
    ];
    for (const { input, message } of hostile) {
      const error = await caller.instance
        .setAccess({ ...ref, ...input })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'BAD_REQUEST' });
      expect(JSON.stringify(fieldErrorsOf(error))).toMatch(message);
    }
    expect(await caller.instance.get(ref)).toMatchObject({
      isPublic: false,
      allowedCidrs: ['10.1.0.0/16', 'fd00::/8'],
    });
    expect(serverSources(created.id).cidrs).toEqual(['10.1.0.0/16', 'fd00::/8']);

    // Narrowing the sources so that a user's host falls outside them: refused, naming the
    // user and its host, and neither the row nor the server changes.
    const stranding = await caller.instance
      .setAccess({ ...ref, isPublic: true, allowedCidrs: ['203.0.113.0/24'] })
      .catch((caught: unknown) => caught);
    expect(stranding).toMatchObject({ code: 'BAD_REQUEST' });
    expect((stranding as Error).message).toMatch(/app@10\.1\.%/);
    expect(fieldErrorsOf(stranding)?.allowedCidrs?.[0]).toMatch(/would fall outside/);
    expect(await caller.instance.get(ref)).toMatchObject({
      isPublic: false,
      allowedCidrs: ['10.1.0.0/16', 'fd00::/8'],
    });
    expect(serverSources(created.id).cidrs).toEqual(['10.1.0.0/16', 'fd00::/8']);
    // Nor can a user's host be moved outside them.
    const movedOut = await caller.databaseUser
      .update({ ...ref, name: 'app', host: '10.1.%', newHost: '192.168.1.%' })
      .catch((caught: unknown) => caught);
    expect(movedOut).toMatchObject({ code: 'BAD_REQUEST' });
    expect(fieldErrorsOf(movedOut)?.newHost?.[0]).toMatch(/outside the instance's allowed sources/);
    // With the user moved to % (anywhere: the firewall is the bound), nothing holds it up.
    await caller.databaseUser.update({ ...ref, name: 'app', host: '10.1.%', newHost: '%' });

    // A change: the row at once, the server once the taskmanager applied it.
    const changed = await caller.instance.setAccess({
      ...ref,
      isPublic: true,
      allowedCidrs: ['203.0.113.0/24'],
    });
    expect(changed).toMatchObject({ isPublic: true, allowedCidrs: ['203.0.113.0/24'] });
    await waitFor(() => serverSources(created.id).cidrs.join() === '203.0.113.0/24', {
      timeoutMs: 30_000,
      what: 'the taskmanager to apply the new sources',
    });
    expect(serverSources(created.id).isPublic).toBe(true);

    // Users' hosts: inside the sources (or %, localhost, loopback), else refused.
    const userError = await caller.databaseUser
      .create({ ...ref, name: 'lan', host: '10.1.%', password: 'An0ther-secret-pw' })
      .catch((caught: unknown) => caught);
    expect(userError).toMatchObject({ code: 'BAD_REQUEST' });
    expect(fieldErrorsOf(userError)?.host?.[0]).toMatch(/outside the instance's allowed sources/);
    const inside = await caller.databaseUser.create({
      ...ref,
      name: 'partner',
      host: '203.0.113.%',
      password: 'An0ther-secret-pw',
    });
    expect(inside).toMatchObject({ name: 'partner', host: '203.0.113.%' });
  }, 240_000);
});
