import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  /** What identifies a server and its accounts (datadir-template.ts, "Nothing shared afterwards"). */
  async function identityOf(instance: TestInstance) {
    const files = instanceFiles(harness.provider, instance.instanceId);
    const root = await connectAsRoot(files.socket);
    try {
      const [rows] = await root.query(
        'SELECT @@server_id AS serverId, @@server_uid AS serverUid, @@gtid_binlog_pos AS gtid, @@innodb_log_file_size AS redoLogBytes, (SELECT authentication_string FROM mysql.user WHERE user = ? AND host = ?) AS adminHash',
        [GUEST_ADMIN_USER, 'localhost'],
      );
      const [accounts] = await root.query(
        "SELECT CONCAT(user, '@', host) AS account, priv FROM mysql.global_priv ORDER BY 1",
      );
      type Priv = { authentication_string?: string; account_locked?: boolean };
      const [logs] = await root.query('SHOW BINARY LOGS');
      return {
        ...(
          rows as {
            serverId: number;
            serverUid: string;
            gtid: string;
            redoLogBytes: number;
            adminHash: string;
          }[]
        )[0]!,
        accounts: new Map(
          (accounts as { account: string; priv: Priv }[]).map((row) => [row.account, row.priv]),
        ),
        binlogs: (logs as { Log_name: string }[]).map((row) => row.Log_name),
      };
    } finally {
      await root.end();
    }
  }

  /** The system tables a copy must have whole: routines made and dropped with their database, every mysql table checked. */
  async function checkSystemTables(instance: TestInstance): Promise<void> {
    const root = await connectAsRoot(instanceFiles(harness.provider, instance.instanceId).socket);
    try {
      await root.query('CREATE DATABASE settled');
      await root.query('CREATE PROCEDURE settled.p() SELECT 1');
      await root.query('DROP DATABASE settled');
      const [rows] = await root.query(
        'CHECK TABLE mysql.proc, mysql.db, mysql.global_priv, mysql.tables_priv, mysql.roles_mapping',
      );
      for (const row of rows as { Table: string; Msg_text: string }[]) {
        expect(`${row.Table}: ${row.Msg_text}`).toBe(`${row.Table}: OK`);
      }
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
    // Settled (started once, shut down cleanly): whole, with Aria's log, without a binary log.
    expect(existsSync(join(template, 'data', 'aria_log_control'))).toBe(true);
    expect(existsSync(join(template, 'data', 'mysql', 'global_priv.MAD'))).toBe(true);
    expect(readdirSync(join(template, 'data')).filter((name) => /bin/.test(name))).toEqual([]);

    const second = await prepared();
    expect(installLine(second.instance).from).toBe('template');
    // Still one template: the second copied it.
    expect(readdirSync(templates).filter((name) => !name.startsWith('.'))).toEqual(keys);

    // Nothing that identifies a server or opens an account is the same in both copies.
    const [a, b] = await Promise.all([identityOf(first.instance), identityOf(second.instance)]);
    expect(a.serverId).not.toBe(b.serverId);
    expect(a.serverUid).toMatch(/^\S{20,}$/);
    expect(a.serverUid).not.toBe(b.serverUid);
    expect(a.adminHash).toMatch(/^\*[0-9A-F]{40}$/);
    expect(a.adminHash).not.toBe(b.adminHash);
    // Each has its own binary log, its GTIDs under its own server id (no binlog in the template).
    expect(a.binlogs.length).toBeGreaterThan(0);
    expect(a.gtid).toMatch(new RegExp(`^0-${a.serverId}-\\d+$`));
    expect(b.gtid).toMatch(new RegExp(`^0-${b.serverId}-\\d+$`));
    // Accounts alike in both are the installer's own, none opened by a password: root and
    // the OS user's (unix_socket only), mariadb.sys (locked).
    const alike = [...a.accounts].filter(
      ([account, priv]) => JSON.stringify(b.accounts.get(account)) === JSON.stringify(priv),
    );
    expect(alike.map(([account]) => account)).toContain('mariadb.sys@localhost');
    for (const [account, priv] of alike) {
      expect(account).not.toMatch(new RegExp(`^(${GUEST_ADMIN_USER}|app_user)@`));
      // '' (locked, or unix_socket only) or 'invalid' (no password: unix_socket only).
      expect(['', 'invalid']).toContain(priv.authentication_string ?? '');
      expect(priv.account_locked === true || JSON.stringify(priv).includes('unix_socket')).toBe(
        true,
      );
    }
    for (const account of [`${GUEST_ADMIN_USER}@localhost`, 'app_user@%']) {
      const hash = a.accounts.get(account)?.authentication_string;
      expect(hash).toMatch(/^\*[0-9A-F]{40}$/);
      expect(hash).not.toBe(b.accounts.get(account)?.authentication_string);
    }
    // The redo log was kept small in the template and grown at the copy's first start.
    expect(statSync(join(template, 'data', 'ib_logfile0')).size).toBe(4 * 1024 * 1024);
    expect(Number(a.redoLogBytes)).toBe(64 * 1024 * 1024);

    // The copies' system tables are whole (a copy straight from the installer broke mysql.proc).
    await checkSystemTables(first.instance);
    await checkSystemTables(second.instance);

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
