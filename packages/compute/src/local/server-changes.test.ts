import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cleanUp, FAKE_GUEST, specFor, testBaseDir, testPortRange } from '../../test/fixture';
import { type ServerInfo } from '../provider';
import { localComputeProvider } from './local-definition';
import { LocalComputeProvider } from './local-provider';

/**
 * resizeServer, extendVolume and setAllowedSources on the local provider: what they record
 * (server.json, read back by a second provider on the same directory, as a restarted worker
 * would), what they refuse, and that they leave the running guest alone.
 */

const baseDir = testBaseDir();
const PORT_RANGE = testPortRange();
const providers: LocalComputeProvider[] = [];

function newProvider(dataDir = join(baseDir, randomBytes(3).toString('hex'))) {
  const provider = new LocalComputeProvider({
    dataDir,
    guestCommand: { command: process.execPath, args: [FAKE_GUEST] },
    portRange: PORT_RANGE,
    stopTimeoutMs: 2000,
  });
  providers.push(provider);
  return provider;
}

afterAll(() => cleanUp(providers, baseDir));

function recordOf(provider: LocalComputeProvider, instanceId: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(provider.instanceDir(instanceId), 'server.json'), 'utf8'));
}

/** A second provider on the same data dir: it knows only what is on disk. */
async function seenAfterRestart(
  provider: LocalComputeProvider,
  instanceId: string,
): Promise<ServerInfo | null> {
  const dataDir = join(provider.instanceDir(instanceId), '..', '..');
  return newProvider(dataDir).getServer(instanceId);
}

describe('LocalComputeProvider.resizeServer', () => {
  it('records the flavor, reports it, and leaves the guest running', async () => {
    const provider = newProvider();
    const spec = specFor();
    const created = await provider.createServer(spec);
    expect(created.flavor).toEqual({ vcpus: 1, ramMb: 512 });
    const pid = provider.guestPid(spec.instanceId);

    await provider.resizeServer(spec.instanceId, { vcpus: 2, ramMb: 2048 });
    expect(recordOf(provider, spec.instanceId)).toMatchObject({
      flavor: { vcpus: 2, ramMb: 2048 },
    });
    expect(await seenAfterRestart(provider, spec.instanceId)).toEqual({
      ...created,
      flavor: { vcpus: 2, ramMb: 2048 },
    });
    expect(provider.guestPid(spec.instanceId)).toBe(pid);
    // Again: nothing else changes.
    await provider.resizeServer(spec.instanceId, { vcpus: 2, ramMb: 2048 });
    // A retried create keeps the resized flavor (it returns what exists).
    expect((await provider.createServer(spec)).flavor).toEqual({ vcpus: 2, ramMb: 2048 });
  });

  it('refuses a flavor that is not whole positive numbers, and a server that is not there', async () => {
    const provider = newProvider();
    const spec = specFor();
    await provider.createServer(spec);
    for (const flavor of [
      { vcpus: 0, ramMb: 512 },
      { vcpus: 1, ramMb: 1.5 },
      { vcpus: 1 } as never,
    ]) {
      await expect(provider.resizeServer(spec.instanceId, flavor)).rejects.toMatchObject({
        code: 'INVALID',
      });
    }
    expect((await provider.getServer(spec.instanceId))!.flavor).toEqual(spec.flavor);
    await expect(provider.resizeServer(randomUUID(), spec.flavor)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(provider.resizeServer('../x', spec.flavor)).rejects.toMatchObject({
      code: 'INVALID',
    });
    // Being deleted (deleteServer's first mark): gone, for a resize.
    writeFileSync(join(provider.instanceDir(spec.instanceId), 'deleting'), 'now\n');
    await expect(
      provider.resizeServer(spec.instanceId, { vcpus: 2, ramMb: 1024 }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('LocalComputeProvider.extendVolume', () => {
  it('grows the recorded size, never shrinks it, and is idempotent', async () => {
    const provider = newProvider();
    const spec = specFor();
    await provider.createServer(spec);

    await provider.extendVolume(spec.instanceId, 3);
    expect(recordOf(provider, spec.instanceId)).toMatchObject({ volumeGb: 3 });
    expect((await seenAfterRestart(provider, spec.instanceId))!.volumeGb).toBe(3);
    await provider.extendVolume(spec.instanceId, 3);

    await expect(provider.extendVolume(spec.instanceId, 2)).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/only grows/),
    });
    for (const size of [3.5, 0, -1, Number.NaN]) {
      await expect(provider.extendVolume(spec.instanceId, size)).rejects.toMatchObject({
        code: 'INVALID',
      });
    }
    expect((await provider.getServer(spec.instanceId))!.volumeGb).toBe(3);
    await expect(provider.extendVolume(randomUUID(), 5)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('LocalComputeProvider.setAllowedSources', () => {
  it('records sources at create and later, canonical; private by default', async () => {
    const provider = newProvider();
    const plain = await provider.createServer(specFor());
    expect(plain.allowedSources).toEqual({ isPublic: false, cidrs: [] });

    const spec = {
      ...specFor(),
      allowedSources: { isPublic: false, cidrs: ['10.1.0.0/16', 'FD00::/8'] },
    };
    const created = await provider.createServer(spec);
    expect(created.allowedSources).toEqual({ isPublic: false, cidrs: ['10.1.0.0/16', 'fd00::/8'] });

    await provider.setAllowedSources(spec.instanceId, {
      isPublic: true,
      cidrs: ['0.0.0.0/0', '2001:db8::/32'],
    });
    expect(recordOf(provider, spec.instanceId)).toMatchObject({
      allowedSources: { isPublic: true, cidrs: ['0.0.0.0/0', '2001:db8::/32'] },
    });
    expect((await seenAfterRestart(provider, spec.instanceId))!.allowedSources).toEqual({
      isPublic: true,
      cidrs: ['0.0.0.0/0', '2001:db8::/32'],
    });
  });

  it('refuses hostile sources and changes nothing', async () => {
    const provider = newProvider();
    const spec = specFor();
    await provider.createServer(spec);
    const before = readFileSync(join(provider.instanceDir(spec.instanceId), 'server.json'), 'utf8');
    for (const cidrs of [
      ['garbage'],
      Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
      ['0.0.0.0/0'],
    ]) {
      await expect(
        provider.setAllowedSources(spec.instanceId, { isPublic: false, cidrs }),
      ).rejects.toMatchObject({ code: 'INVALID' });
    }
    expect(readFileSync(join(provider.instanceDir(spec.instanceId), 'server.json'), 'utf8')).toBe(
      before,
    );
    // At create: nothing is made.
    const refused = { ...specFor(), allowedSources: { isPublic: false, cidrs: ['0.0.0.0/0'] } };
    await expect(provider.createServer(refused)).rejects.toMatchObject({ code: 'INVALID' });
    expect(existsSync(provider.instanceDir(refused.instanceId))).toBe(false);
  });

  it('reads a record written before sources were recorded as private', async () => {
    const provider = newProvider();
    const spec = specFor();
    await provider.createServer(spec);
    const file = join(provider.instanceDir(spec.instanceId), 'server.json');
    const { allowedSources: _dropped, ...older } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(older));
    expect((await provider.getServer(spec.instanceId))!.allowedSources).toEqual({
      isPublic: false,
      cidrs: [],
    });
  });
});

describe('localComputeProvider (its registration)', () => {
  const context = {
    instanceHost: '127.0.0.1',
    instanceBindAddress: '127.0.0.1',
    portRange: PORT_RANGE,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };

  it('is named local and makes a LocalComputeProvider on the data dir', () => {
    const provider = localComputeProvider.create({
      ...context,
      dataDir: join(baseDir, 'registered'),
      guestCommand: () => ({ command: process.execPath, args: [FAKE_GUEST] }),
    });
    expect(localComputeProvider.name).toBe('local');
    expect(provider).toBeInstanceOf(LocalComputeProvider);
    expect(provider.name).toBe('local');
  });

  it('is UNAVAILABLE without a data dir, before it resolves a guest command', () => {
    let isGuestResolved = false;
    expect(() =>
      localComputeProvider.create({
        ...context,
        dataDir: undefined,
        guestCommand: () => {
          isGuestResolved = true;
          return { command: process.execPath, args: [] };
        },
      }),
    ).toThrowError(
      expect.objectContaining({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/COFFER_DATA_DIR/),
      }),
    );
    expect(isGuestResolved).toBe(false);
  });
});
