import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { GUEST_ADMIN_USER } from '@coffer/contracts';
import { afterAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  connectTcp,
  GuestHarness,
  instanceFiles,
  isStatus,
  type TestInstance,
} from '../../../test/harness';

/**
 * Datadir templates (datadir-template.ts) through real guests of the local provider: the first
 * install makes the template, later ones copy it, and the copies share nothing.
 */
describe('datadir templates', () => {
  const harness = new GuestHarness(0.5);
  const templates = join(harness.dataDir, 'templates', 'mariadb');
  afterAll(() => harness.close());

  async function prepared(): Promise<{ instance: TestInstance; password: string }> {
    const instance = await harness.createInstance();
    const password = await harness.prepareApp(instance);
    await instance.conductor.waitFor(isStatus('RUNNING'), 90_000, 'a RUNNING heartbeat');
    return { instance, password };
  }

  /** The guest log's "datadir installed" line. */
  function installLine(instance: TestInstance): { from: string; ms: number } {
    const lines = readFileSync(
      instanceFiles(harness.provider, instance.instanceId).guestLog,
      'utf8',
    )
      .split('\n')
      .filter((line) => line.includes('"datadir installed"'));
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as { from: string; ms: number };
  }

  /** What identifies a server: its id, Aria's UUID, the guest's admin password hash. */
  async function identityOf(instance: TestInstance) {
    const files = instanceFiles(harness.provider, instance.instanceId);
    const root = await connectAsRoot(files.socket);
    try {
      const [rows] = await root.query(
        'SELECT @@server_id AS serverId, (SELECT authentication_string FROM mysql.user WHERE user = ? AND host = ?) AS adminHash',
        [GUEST_ADMIN_USER, 'localhost'],
      );
      const { serverId, adminHash } = (rows as { serverId: number; adminHash: string }[])[0]!;
      // aria_log_control: magic (4 bytes), then the server's 16-byte UUID.
      const ariaUuid = readFileSync(join(files.volumeDir, 'data', 'aria_log_control'))
        .subarray(4, 20)
        .toString('hex');
      return { serverId, adminHash, ariaUuid };
    } finally {
      await root.end();
    }
  }

  it('makes the template at the first install and copies it at the next, sharing nothing', async () => {
    const first = await prepared();
    expect(installLine(first.instance).from).toBe('template');
    const keys = readdirSync(templates).filter((name) => !name.startsWith('.'));
    expect(keys).toHaveLength(1);
    const template = join(templates, keys[0]!);
    expect(existsSync(join(template, 'template.json'))).toBe(true);
    // Never started as a server: no Aria control file of its own to hand out.
    expect(existsSync(join(template, 'data', 'aria_log_control'))).toBe(false);
    expect(existsSync(join(template, 'data', 'mysql', 'global_priv.MAD'))).toBe(true);

    const second = await prepared();
    expect(installLine(second.instance).from).toBe('template');
    // Still one template: the second copied it.
    expect(readdirSync(templates).filter((name) => !name.startsWith('.'))).toEqual(keys);

    const [a, b] = await Promise.all([identityOf(first.instance), identityOf(second.instance)]);
    expect(a.serverId).not.toBe(b.serverId);
    expect(a.ariaUuid).not.toBe(b.ariaUuid);
    expect(a.adminHash).toMatch(/^\*[0-9A-F]{40}$/);
    expect(a.adminHash).not.toBe(b.adminHash);

    // Each serves its own data: a table made on one is not on the other.
    const one = await connectTcp(first.instance.server.port, 'app_user', first.password, 'app');
    const two = await connectTcp(second.instance.server.port, 'app_user', second.password, 'app');
    try {
      await one.query('CREATE TABLE only_here (id INT PRIMARY KEY) ENGINE=InnoDB');
      await one.query('INSERT INTO only_here VALUES (1)');
      const [tables] = await two.query("SHOW TABLES LIKE 'only_here'");
      expect(tables).toEqual([]);
    } finally {
      await one.end();
      await two.end();
    }
  });

  it('makes a damaged template again, and installs anyway when templates cannot be kept', async () => {
    const [key] = readdirSync(templates).filter((name) => !name.startsWith('.'));
    const template = join(templates, key!);
    // A file of the template lost: it is not copied, but made again.
    rmSync(join(template, 'data', 'mysql', 'db.MAI'));
    const repaired = await prepared();
    expect(installLine(repaired.instance).from).toBe('template');
    expect(existsSync(join(template, 'data', 'mysql', 'db.MAI'))).toBe(true);

    // No place for templates (a file where the directory would be): the installer, as before.
    rmSync(templates, { recursive: true, force: true });
    writeFileSync(templates, 'not a directory');
    try {
      const installed = await prepared();
      expect(installLine(installed.instance).from).toBe('installer');
    } finally {
      rmSync(templates, { force: true });
    }
  });
});
