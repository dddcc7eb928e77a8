import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../provider';

import { cleanUp, FAKE_GUEST, specFor, testBaseDir, testPortRange } from '../../test/fixture';
import { createLocalFirewall, firewallTableFor, nftAvailable, NftFirewall } from './firewall';
import { LocalComputeProvider } from './local-provider';

/**
 * The local provider's firewall over real nftables: a network namespace joined to this machine
 * by a veth pair is "another machine" (10.213.<n>.2 and fd0c:ffe:<n>::2 there, .1 and ::1 here);
 * the servers listen on 0.0.0.0 (COFFER_INSTANCE_BIND_ADDRESS), as when they serve other
 * machines. Needs root (netns, veth, nft): skipped, saying so, where that is missing.
 */
const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const canRun = isRoot && nftAvailable();
if (!canRun) console.warn('firewall.test: skipped (needs root and the nft command)');

const suffix = randomBytes(3).toString('hex');
const netns = `coffer-fw-${suffix}`;
const hostVeth = `cfh${suffix}`;
const nsVeth = `cfn${suffix}`;
const subnet = 1 + (parseInt(suffix, 16) % 250);
const HOST4 = `10.213.${subnet}.1`;
const NS4_NET = `10.213.${subnet}.0/30`;
const HOST6 = `fd0c:ffe:${subnet.toString(16)}::1`;
const NS6_NET = `fd0c:ffe:${subnet.toString(16)}::/64`;
const PROBE_TIMEOUT_S = 3;

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });
}

/** Whether a TCP connect from the namespace to address:port is answered within the bound. */
async function answersFromOutside(address: string, port: number): Promise<boolean> {
  try {
    await run('ip', [
      'netns',
      'exec',
      netns,
      'timeout',
      String(PROBE_TIMEOUT_S),
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${address}/${port}`,
    ]);
    return true;
  } catch {
    return false;
  }
}

async function answersFromHere(port: number): Promise<boolean> {
  try {
    await run('timeout', [
      String(PROBE_TIMEOUT_S),
      'bash',
      '-c',
      `exec 3<>/dev/tcp/127.0.0.1/${port}`,
    ]);
    return true;
  } catch {
    return false;
  }
}

function tableText(table: string): string {
  try {
    return execFileSync('nft', ['list', 'table', 'inet', table], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch {
    return '';
  }
}

describe.skipIf(!canRun)(
  'the local provider firewall (nftables, a netns for another machine)',
  () => {
    const baseDir = testBaseDir();
    const dataDir = join(baseDir, 'data');
    const providers: LocalComputeProvider[] = [];
    const listeners: Server[] = [];
    let provider: LocalComputeProvider;

    function newProvider(): LocalComputeProvider {
      const created = new LocalComputeProvider({
        dataDir,
        guestCommand: { command: process.execPath, args: [FAKE_GUEST] },
        bindAddress: '0.0.0.0',
        portRange: testPortRange(),
        stopTimeoutMs: 5_000,
        volumes: 'directory',
      } as ConstructorParameters<typeof LocalComputeProvider>[0]);
      providers.push(created);
      return created;
    }

    /** The fake guest listens on nothing: the test stands in for its database server. */
    async function listenOn(port: number): Promise<void> {
      const server = createServer((socket) => socket.end());
      listeners.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: '::', ipv6Only: false }, resolve);
      });
    }

    beforeAll(() => {
      sh(['ip', 'netns', 'add', netns]);
      sh(['ip', 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
      sh(['ip', 'link', 'set', nsVeth, 'netns', netns]);
      sh(['ip', 'addr', 'add', `${HOST4}/30`, 'dev', hostVeth]);
      sh(['ip', '-6', 'addr', 'add', `${HOST6}/64`, 'dev', hostVeth, 'nodad']);
      sh(['ip', 'link', 'set', hostVeth, 'up']);
      const inNs = ['ip', 'netns', 'exec', netns];
      sh([...inNs, 'ip', 'addr', 'add', `10.213.${subnet}.2/30`, 'dev', nsVeth]);
      sh([
        ...inNs,
        'ip',
        '-6',
        'addr',
        'add',
        `fd0c:ffe:${subnet.toString(16)}::2/64`,
        'dev',
        nsVeth,
        'nodad',
      ]);
      sh([...inNs, 'ip', 'link', 'set', nsVeth, 'up']);
      sh([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
      provider = newProvider();
    });

    afterAll(async () => {
      for (const server of listeners) server.close();
      try {
        await cleanUp(providers.slice(-1), baseDir);
      } finally {
        try {
          execFileSync('nft', ['delete', 'table', 'inet', firewallTableFor(dataDir)], {
            stdio: 'pipe',
          });
        } catch {
          // Already gone: the last delete removed it.
        }
        for (const args of [
          ['ip', 'link', 'del', hostVeth],
          ['ip', 'netns', 'del', netns],
        ]) {
          try {
            sh(args);
          } catch {
            // Gone with the namespace.
          }
        }
      }
    });

    it('private by default: the port answers this machine only; allowed CIDRs (v4, v6) get in; removal cuts at once; hostile sources change nothing', async () => {
      const spec = specFor();
      const info = await provider.createServer(spec);
      await listenOn(info.port);
      const table = provider.firewallTable()!;
      expect(table).toBe(firewallTableFor(dataDir));

      expect(await answersFromHere(info.port)).toBe(true);
      expect(await answersFromOutside(HOST4, info.port)).toBe(false);
      expect(await answersFromOutside(HOST6, info.port)).toBe(false);

      await provider.setAllowedSources(spec.instanceId, { isPublic: false, cidrs: [NS4_NET] });
      expect(await answersFromOutside(HOST4, info.port)).toBe(true);
      expect(await answersFromOutside(HOST6, info.port)).toBe(false);

      await provider.setAllowedSources(spec.instanceId, { isPublic: false, cidrs: [NS6_NET] });
      // The IPv4 network is gone from the set: the very next connection is refused.
      expect(await answersFromOutside(HOST4, info.port)).toBe(false);
      expect(await answersFromOutside(HOST6, info.port)).toBe(true);

      // Hostile sources: refused, and neither the rules nor the record change.
      const rulesBefore = tableText(table);
      const recordPath = join(provider.instanceDir(spec.instanceId), 'server.json');
      const recordBefore = readFileSync(recordPath, 'utf8');
      const hostile = [
        { isPublic: false, cidrs: ['0.0.0.0/0'] },
        { isPublic: false, cidrs: ['::/0'] },
        { isPublic: true, cidrs: ['garbage; flush ruleset'] },
        { isPublic: true, cidrs: ['10.0.0.0/8 }; add rule inet filter input accept; {'] },
        {
          isPublic: true,
          cidrs: Array.from({ length: 10_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
        },
      ];
      for (const sources of hostile) {
        await expect(provider.setAllowedSources(spec.instanceId, sources)).rejects.toMatchObject({
          code: 'INVALID',
        });
      }
      expect(tableText(table)).toBe(rulesBefore);
      expect(readFileSync(recordPath, 'utf8')).toBe(recordBefore);
      expect(await answersFromOutside(HOST4, info.port)).toBe(false);

      // Public without CIDRs: anyone.
      await provider.setAllowedSources(spec.instanceId, { isPublic: true, cidrs: [] });
      expect(await answersFromOutside(HOST4, info.port)).toBe(true);
    });

    it('a reboot (the table gone) and a new provider: every server rule is back; delete leaves no table', async () => {
      const spec = specFor();
      const info = await provider.createServer({
        ...spec,
        allowedSources: { isPublic: false, cidrs: ['10.99.0.0/16'] },
      });
      await listenOn(info.port);
      expect(await answersFromOutside(HOST4, info.port)).toBe(false);

      // A reboot empties the kernel's ruleset: with the table gone the port is open...
      const table = provider.firewallTable()!;
      new NftFirewall({ table, logger: console }).deleteTable();
      expect(tableText(table)).toBe('');
      expect(await answersFromOutside(HOST4, info.port)).toBe(true);

      // ...until Coffer starts again: the new provider restores every server's rules.
      provider = newProvider();
      expect(tableText(table)).toContain('10.99.0.0/16');
      expect(await answersFromOutside(HOST4, info.port)).toBe(false);

      for (const server of await provider.listServers())
        await provider.deleteServer(server.serverId);
      expect(tableText(table)).toBe('');
    });
  },
);

describe('where the firewall is and is not', () => {
  const noNft = () => {
    throw Object.assign(new Error('spawnSync nft ENOENT'), { code: 'ENOENT' });
  };

  it('servers on loopback need no rules; elsewhere without nft the provider refuses to start', () => {
    for (const bindAddress of ['127.0.0.1', '::1', 'localhost']) {
      expect(
        createLocalFirewall({ dataDir: '/x', bindAddress, logger: silentLogger, run: noNft }),
      ).toBeNull();
    }
    expect(() =>
      createLocalFirewall({
        dataDir: '/x',
        bindAddress: '0.0.0.0',
        logger: silentLogger,
        run: noNft,
      }),
    ).toThrowError(
      expect.objectContaining({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/nftables is not usable/),
      }),
    );
    const calls: string[][] = [];
    const firewall = createLocalFirewall({
      dataDir: '/x',
      bindAddress: '0.0.0.0',
      logger: silentLogger,
      run: (args) => {
        calls.push(args);
        return '';
      },
    });
    expect(firewall?.table).toBe(firewallTableFor('/x'));
    expect(calls).toEqual([['list', 'tables']]);
  });
});
