import { describe, expect, it } from 'vitest';

import { defaultBackupSchedule, nextBackupWindow } from './default-backup-schedule';

describe('the default backup schedule', () => {
  it('first runs at the next window at least an hour away', () => {
    const at = (iso: string) => nextBackupWindow(new Date(iso), '03:00').toISOString();
    expect(at('2026-12-06T01:00:00Z')).toBe('2026-12-06T03:00:00.000Z');
    expect(at('2026-12-06T02:30:00Z')).toBe('2026-12-07T03:00:00.000Z');
    expect(at('2026-12-31T23:00:00Z')).toBe('2027-01-01T03:00:00.000Z');
  });

  it('is a daily full (logical where the version backs up logically), 7 kept, unless the request says otherwise', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(defaultBackupSchedule(undefined, 'PHYSICAL', now)).toMatchObject({
      fullType: 'FULL',
      fullIntervalMinutes: 1440,
      incrementalIntervalMinutes: null,
      retainFullCount: 7,
    });
    expect(
      defaultBackupSchedule({ isEnabled: true, retainFullCount: 2 }, 'LOGICAL', now),
    ).toMatchObject({ fullType: 'LOGICAL', retainFullCount: 2 });
    expect(
      defaultBackupSchedule({ isEnabled: false, retainFullCount: 7 }, 'PHYSICAL', now),
    ).toBeNull();
  });
});
