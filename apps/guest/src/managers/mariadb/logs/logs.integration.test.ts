import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { type ConductorMessage } from '@coffer/contracts';
import { registerSecret } from '@coffer/testing/secrets';
import { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  connectAsRoot,
  GuestHarness,
  instanceFiles,
  type TestInstance,
} from '../../../../test/harness';

/**
 * Database logs' cap, rotation and masking on a real guest and mariadbd (issue 16 part 3): a
 * log stays within the cap the tenant set (current file plus at most three rotated ones), the
 * rotated files on the volume hold no password, a download has the rotated files (masked)
 * before the current one, and a tail by offset gives only what came after, from the new file's
 * start once the log was rotated.
 */

const isRunning = (message: ConductorMessage): boolean =>
  message.kind === 'heartbeat' && message.payload.serviceStatus === 'RUNNING';

const MIB = 1024 * 1024;
const secret = `Rotated-${randomBytes(12).toString('hex')}`;
registerSecret('logs test: a password the general log holds', secret);

describe('database logs: cap, rotation, masking, tail by offset', () => {
  const harness = new GuestHarness(1);
  let instance: TestInstance;
  let root: Connection;
  let general: string;

  beforeAll(async () => {
    instance = await harness.createInstance();
    await harness.prepareApp(instance);
    await instance.conductor.waitFor(isRunning, 90_000, 'RUNNING');
    const files = instanceFiles(harness.provider, instance.instanceId);
    root = await connectAsRoot(files.socket);
    general = join(dirname(files.errorLog), 'general.log');
  });

  afterAll(async () => {
    await root?.end();
    await harness.close();
  });

  const call = <M extends 'list_logs' | 'set_log' | 'show_log' | 'download_log'>(
    method: M,
    params: Parameters<TestInstance['client']['call']>[1] & object,
  ) => instance.client.call(method, params as never, { timeoutMs: 30_000 });

  const generalInfo = async () =>
    (await call('list_logs', {})).logs.find((log) => log.name === 'general')!;

  /** About 260 KiB in the general log: filler, a password statement and a marker. */
  async function batch(marker: string): Promise<void> {
    const filler = 'f'.repeat(64 * 1024);
    for (let i = 0; i < 4; i++) await root.query(`SELECT '${filler}' AS filler`);
    await root.query(`ALTER USER 'rotated'@'%' IDENTIFIED BY '${secret}'`);
    await root.query(`SELECT '${marker}' AS marker`);
  }

  it('keeps a log within the cap the tenant set, its rotated files masked on the volume', async () => {
    const set = await call('set_log', { name: 'general', enabled: true, capBytes: MIB });
    expect(set.log).toMatchObject({
      enabled: true,
      capBytes: MIB,
      maxBytes: MIB / 4,
      isCapSet: true,
    });
    await root.query(`CREATE USER 'rotated'@'%' IDENTIFIED BY '${secret}'`);

    // Each batch passes the rotation threshold (a quarter of the cap); list_logs rotates.
    for (let i = 0; i < 8; i++) {
      await batch(`batch_marker_${i}`);
      await call('list_logs', {});
    }
    const info = await generalInfo();
    expect(info.rotatedFiles).toBe(3);
    expect(existsSync(`${general}.4`)).toBe(false);
    const files = [general, `${general}.1`, `${general}.2`, `${general}.3`];
    const total = files.reduce((sum, file) => sum + statSync(file).size, 0);
    expect(total).toBeLessThanOrEqual(MIB);
    // (The current file grows with the guest's own statements: only the rotated ones compared.)
    expect(info.rotatedSizeBytes).toBe(
      files.slice(1).reduce((sum, file) => sum + statSync(file).size, 0),
    );

    // The rotated files were written masked: no password on the volume but in the current file.
    for (const file of files.slice(1)) {
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain(secret);
      expect(text).toContain(`IDENTIFIED BY '***'`);
    }
    // The oldest batches are gone with the files removed to keep the cap.
    const rotatedText = files
      .slice(1)
      .map((file) => readFileSync(file, 'utf8'))
      .join('');
    expect(rotatedText).not.toContain('batch_marker_0');
    expect(rotatedText).toContain('batch_marker_6');

    // A download is the whole log: the rotated files (oldest first), then the current one.
    const download = await call('download_log', { name: 'general' });
    expect(download.isTruncated).toBe(false);
    expect(download.text).not.toContain(secret);
    const markers = [...download.text.matchAll(/batch_marker_(\d)/g)].map((m) => Number(m[1]));
    expect(markers.length).toBeGreaterThanOrEqual(3);
    expect(markers).toEqual([...markers].sort((a, b) => a - b));
    expect(markers).toContain(7);
  });

  it('a tail by offset gives only the lines written since, then the new file once the log was rotated', async () => {
    const first = await call('show_log', { name: 'general', lines: 5 });
    expect(first.fileId).toBeTruthy();
    await root.query(`SELECT 'tail_marker_one' AS t`);
    const next = await call('show_log', {
      name: 'general',
      fromOffset: first.offset,
      fileId: first.fileId,
    });
    expect(next.isRestarted).toBe(false);
    expect(next.fileId).toBe(first.fileId);
    expect(next.lines.join('\n')).toContain('tail_marker_one');
    expect(next.lines.join('\n')).not.toContain('batch_marker');
    expect(next.offset).toBeGreaterThan(first.offset);

    // Nothing written since: nothing, at the same offset.
    const idle = await call('show_log', {
      name: 'general',
      fromOffset: next.offset,
      fileId: next.fileId,
    });
    expect(idle.lines.filter((line) => line.includes('tail_marker'))).toEqual([]);

    // Rotated in between: the new file from its start (the old offset may lie within it).
    await batch('batch_marker_8');
    await call('list_logs', {});
    await root.query(`ALTER USER 'rotated'@'%' IDENTIFIED BY '${secret}'`);
    await root.query(`SELECT 'tail_marker_two' AS t`);
    const after = await call('show_log', {
      name: 'general',
      fromOffset: next.offset,
      fileId: next.fileId,
    });
    expect(after.isRestarted).toBe(true);
    expect(after.fileId).not.toBe(next.fileId);
    const shown = after.lines.join('\n');
    expect(shown).toContain('tail_marker_two');
    expect(shown).toContain(`IDENTIFIED BY '***'`);
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain('batch_marker_8');
  });

  it('a cap set back to null is the default again', async () => {
    const reset = await call('set_log', { name: 'general', capBytes: null });
    expect(reset.log.isCapSet).toBe(false);
    expect(reset.log.capBytes).toBe(reset.log.defaultCapBytes);
    expect(reset.log.defaultCapBytes).toBeGreaterThanOrEqual(4 * MIB);
    expect(reset.log.enabled).toBe(true);
  });
});
