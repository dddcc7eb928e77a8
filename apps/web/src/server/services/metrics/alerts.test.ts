import { describe, expect, it } from 'vitest';

import { evaluateAlerts, type AlertInputs } from './alerts';

const calm: AlertInputs = {
  volumeUsedBytes: 500,
  volumeTotalBytes: 1000,
  connections: 10,
  maxConnections: 100,
  replicationLagSeconds: null,
};

describe('the alerts rule', () => {
  it('says nothing for a calm instance, nor exactly at a threshold', () => {
    expect(evaluateAlerts(calm, 30)).toEqual([]);
    expect(
      evaluateAlerts(
        {
          volumeUsedBytes: 900,
          volumeTotalBytes: 1000,
          connections: 90,
          maxConnections: 100,
          replicationLagSeconds: 30,
        },
        30,
      ),
    ).toEqual([]);
  });

  it('alerts just past each threshold, with the value and threshold', () => {
    expect(evaluateAlerts({ ...calm, volumeUsedBytes: 901 }, 30)).toEqual([
      expect.objectContaining({ kind: 'volume', value: 0.901, threshold: 0.9 }),
    ]);
    expect(evaluateAlerts({ ...calm, connections: 91 }, 30)).toEqual([
      expect.objectContaining({
        kind: 'connections',
        value: 0.91,
        threshold: 0.9,
        message: expect.stringContaining('91 of 100'),
      }),
    ]);
    expect(evaluateAlerts({ ...calm, replicationLagSeconds: 31 }, 30)).toEqual([
      expect.objectContaining({ kind: 'replicationLag', value: 31, threshold: 30 }),
    ]);
    expect(evaluateAlerts({ ...calm, replicationLagSeconds: 31 }, 60)).toEqual([]);
  });

  it('says nothing of what it does not know', () => {
    expect(
      evaluateAlerts(
        {
          volumeUsedBytes: 999,
          volumeTotalBytes: 0,
          connections: 99,
          maxConnections: null,
          replicationLagSeconds: null,
        },
        30,
      ),
    ).toEqual([]);
  });
});
