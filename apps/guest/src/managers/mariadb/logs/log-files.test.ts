import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { fileIdOf, moveMasked, readForward, readMaskedFiles } from './log-files';

const dir = mkdtempSync(join(tmpdir(), 'coffer-log-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('log files', () => {
  it('readForward gives complete lines from an offset, cuts a line longer than a step, and restarts on another file', () => {
    const path = join(dir, 'a.log');
    writeFileSync(path, "one\nALTER USER u IDENTIFIED BY 'pw-1'\npartial");
    const first = readForward(path, 0, undefined, 1024);
    expect(first.lines).toEqual(['one', "ALTER USER u IDENTIFIED BY '***'"]);
    expect(first.offset).toBe(Buffer.byteLength("one\nALTER USER u IDENTIFIED BY 'pw-1'\n"));
    expect(first.hasMore).toBe(false);
    appendFileSync(path, ' line\n' + 'y'.repeat(40) + '\n');
    const next = readForward(path, first.offset, first.fileId, 16);
    expect(next.lines).toEqual(['partial line']);
    const long = readForward(path, next.offset, next.fileId, 16);
    expect(long.lines).toEqual(['y'.repeat(16)]);
    expect(long.hasMore).toBe(true);

    // Rotated as the guest does: renamed aside, a new file made (another inode), longer already.
    renameSync(path, `${path}.rotating`);
    writeFileSync(path, 'new file line\n'.repeat(10));
    expect(fileIdOf(path)).not.toBe(first.fileId);
    const restarted = readForward(path, first.offset, first.fileId, 1024);
    expect(restarted.isRestarted).toBe(true);
    expect(restarted.lines[0]).toBe('new file line');
  });

  it('readMaskedFiles reads rotated files then the current one, its end only when over the limit', () => {
    const older = join(dir, 'b.log.1');
    const current = join(dir, 'b.log');
    writeFileSync(older, "old 1\nSET PASSWORD = 'pw-2'\n");
    writeFileSync(current, 'new 1\n');
    expect(readMaskedFiles([join(dir, 'missing'), older, current], 1024)).toEqual({
      text: "old 1\nSET PASSWORD = '***'\nnew 1\n",
      isTruncated: false,
    });
    expect(readMaskedFiles([older, current], 10)).toEqual({ text: 'new 1\n', isTruncated: true });
  });

  it('moveMasked writes every line masked, across chunks, and removes the source', () => {
    const source = join(dir, 'c.log.rotating');
    const target = join(dir, 'c.log.1');
    const line = "GRANT ALL ON *.* TO 'g'@'%' IDENTIFIED BY 'pw-3' -- é\n";
    writeFileSync(source, line.repeat(40_000));
    moveMasked(source, target);
    const text = readFileSync(target, 'utf8');
    expect(existsSync(source)).toBe(false);
    expect(text).not.toContain('pw-3');
    expect(text).toBe("GRANT ALL ON *.* TO 'g'@'%' IDENTIFIED BY '***' -- é\n".repeat(40_000));
  });
});
