import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  optionalSetting,
  parseSettings,
  postgresUrlSetting,
  redisUrlSetting,
  sharedSettings,
} from './settings';

const schema = z.object({
  ...sharedSettings,
  DATABASE_URL: postgresUrlSetting,
  REDIS_URL: optionalSetting(redisUrlSetting),
});

const valid = {
  COFFER_MASTER_KEY: randomBytes(32).toString('base64'),
  DATABASE_URL: 'postgresql://coffer:pw@127.0.0.1:5432/coffer',
};

function problemsOf(overrides: Record<string, unknown>): string {
  const result = parseSettings(schema, { ...valid, ...overrides });
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.problems.join('\n');
}

describe('shared settings', () => {
  it('take their defaults', () => {
    const result = parseSettings(schema, valid);
    expect(result).toMatchObject({
      ok: true,
      data: {
        COFFER_HEARTBEAT_EXPIRY_SECONDS: 15,
        COFFER_QUEUE_PREFIX: 'bull',
        COFFER_QUOTA_INSTANCES: 10,
        COFFER_QUOTA_VOLUME_GB: 200,
        COFFER_QUOTA_BACKUPS: 50,
        LOG_LEVEL: 'info',
      },
    });
  });

  it('accept values at their bounds (as strings, as an environment gives them)', () => {
    for (const seconds of ['3', '3600']) {
      const result = parseSettings(schema, { ...valid, COFFER_HEARTBEAT_EXPIRY_SECONDS: seconds });
      expect(result.ok && result.data.COFFER_HEARTBEAT_EXPIRY_SECONDS).toBe(Number(seconds));
    }
    const unlimited = parseSettings(schema, { ...valid, COFFER_QUOTA_BACKUPS: '-1' });
    expect(unlimited.ok && unlimited.data.COFFER_QUOTA_BACKUPS).toBe(-1);
    expect(parseSettings(schema, { ...valid, REDIS_URL: '' }).ok).toBe(true);
  });

  it('refuse a master key that is not the base64 of 32 bytes', () => {
    expect(problemsOf({ COFFER_MASTER_KEY: randomBytes(16).toString('base64') })).toBe(
      '  COFFER_MASTER_KEY: must be the base64 of 32 bytes',
    );
    // Buffer.from ignores what is not base64: 32 bytes plus junk must still be refused.
    expect(problemsOf({ COFFER_MASTER_KEY: `${valid.COFFER_MASTER_KEY}!!` })).toBe(
      '  COFFER_MASTER_KEY: must be the base64 of 32 bytes',
    );
    expect(problemsOf({ COFFER_MASTER_KEY: undefined })).toBe('  COFFER_MASTER_KEY: is not set');
  });

  it('refuse a heartbeat expiry outside 3-3600 whole seconds', () => {
    expect(problemsOf({ COFFER_HEARTBEAT_EXPIRY_SECONDS: '2' })).toBe(
      '  COFFER_HEARTBEAT_EXPIRY_SECONDS: must be at least 3 (seconds)',
    );
    expect(problemsOf({ COFFER_HEARTBEAT_EXPIRY_SECONDS: '3601' })).toBe(
      '  COFFER_HEARTBEAT_EXPIRY_SECONDS: must be at most 3600 (seconds)',
    );
    expect(problemsOf({ COFFER_HEARTBEAT_EXPIRY_SECONDS: '4.5' })).toBe(
      '  COFFER_HEARTBEAT_EXPIRY_SECONDS: must be a whole number of seconds',
    );
  });

  it('refuse a queue prefix with a character BullMQ keys should not hold', () => {
    expect(problemsOf({ COFFER_QUEUE_PREFIX: 'coffer:prod' })).toBe(
      '  COFFER_QUEUE_PREFIX: may contain letters, digits, _ . -',
    );
  });

  it('refuse a quota below -1 or not whole', () => {
    expect(problemsOf({ COFFER_QUOTA_BACKUPS: '-2' })).toBe(
      '  COFFER_QUOTA_BACKUPS: must be a number of at least 0, or -1 for unlimited',
    );
    expect(problemsOf({ COFFER_QUOTA_INSTANCES: '1.5' })).toBe(
      '  COFFER_QUOTA_INSTANCES: must be a whole number',
    );
  });

  it('refuse URLs of the wrong kind, and name every bad variable at once', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://root@db/coffer',
      REDIS_URL: 'http://redis:6379',
      LOG_LEVEL: 'loud',
    });
    expect(problems).toContain('  DATABASE_URL: must be a postgresql:// URL');
    expect(problems).toContain('  REDIS_URL: must be a redis:// or rediss:// URL');
    expect(problems).toContain('  LOG_LEVEL: ');
    expect(problems.split('\n')).toHaveLength(3);
  });
});
