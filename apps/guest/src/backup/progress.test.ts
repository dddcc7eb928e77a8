import { type BackupReport } from '@coffer/contracts';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { BackupProgress } from './progress';

afterEach(() => {
  vi.useRealTimers();
});

describe('BackupProgress.fail', () => {
  it('reports FAILED with nothing stored and the message cut to 2000 characters', async () => {
    const reports: BackupReport[] = [];
    const progress = new BackupProgress(
      async (report) => void reports.push(report),
      pino({ level: 'silent' }),
      'backup-1',
    );
    progress.rawBytes = 10;
    progress.storedBytes = 5;
    await progress.fail('x'.repeat(3000));
    expect(reports).toEqual([
      {
        backupId: 'backup-1',
        status: 'FAILED',
        progress: 0,
        storedBytes: 0,
        rawBytes: 0,
        message: 'x'.repeat(2000),
      },
    ]);
  });

  it('logs, and does not throw, when the report cannot be sent after its retries', async () => {
    vi.useFakeTimers();
    const logger = pino({ level: 'silent' });
    const logged = vi.spyOn(logger, 'error');
    const report = vi.fn(() => Promise.reject(new Error('conductor gone')));
    const failing = new BackupProgress(report, logger, 'backup-2').fail('disk full');
    await vi.runAllTimersAsync();
    await expect(failing).resolves.toBeUndefined();
    expect(report).toHaveBeenCalledTimes(5);
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({ backupId: 'backup-2' }),
      'could not report the failed backup',
    );
  });
});
