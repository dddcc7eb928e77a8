import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createLogger, REDACTED, redactUrl } from './logger';

/** A logger whose lines land in an array, parsed. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ service: 'coffer-test', level: 'debug', destination });
  return {
    logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const SECRET = 'hunter2-must-not-appear';

/**
 * What the web app, the worker and the guest each redacted before they shared one list: all of
 * it still. Written here on its own (not imported), so a key dropped from the logger fails.
 */
const SECRET_FIELDS = [
  ...'password token secret guestSecret guestSecretEnc masterKey'.split(' '),
  ...'redisUrl guestRedisUrl databaseUrl backupStore'.split(' '),
  ...'COFFER_MASTER_KEY DATABASE_URL REDIS_URL COFFER_GUEST_REDIS_URL COFFER_SWIFT_KEY'.split(' '),
];

describe('createLogger', () => {
  it.each(SECRET_FIELDS)('hides %s at the top level and one and two levels down', (key) => {
    const { logger, lines, records } = capturingLogger();
    logger.info({ [key]: SECRET }, 'top');
    logger.info({ job: { [key]: SECRET } }, 'one down');
    logger.info({ job: { data: { [key]: SECRET } } }, 'two down');
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(SECRET);
    const [top, one, two] = records() as [
      Record<string, unknown>,
      { job: Record<string, unknown> },
      { job: { data: Record<string, unknown> } },
    ];
    expect(top[key]).toBe(REDACTED);
    expect(one.job[key]).toBe(REDACTED);
    expect(two.job.data[key]).toBe(REDACTED);
  });

  it('hides users’ passwords in lists and request credentials in headers', () => {
    const { logger, lines, records } = capturingLogger();
    logger.info({ users: [{ name: 'app', password: SECRET }] }, 'users');
    logger.info({ payload: { users: [{ name: 'app', password: SECRET }] } }, 'nested users');
    logger.info(
      { headers: { authorization: `Bearer ${SECRET}`, cookie: `s=${SECRET}` } },
      'headers',
    );
    logger.info(
      { req: { headers: { authorization: `Bearer ${SECRET}`, cookie: `s=${SECRET}` } } },
      'req',
    );
    expect(lines.join('\n')).not.toContain(SECRET);
    const [users, nested, headers, req] = records() as [
      { users: { name: string; password: string }[] },
      { payload: { users: { password: string }[] } },
      { headers: Record<string, string> },
      { req: { headers: Record<string, string> } },
    ];
    expect(users.users[0]).toEqual({ name: 'app', password: REDACTED });
    expect(nested.payload.users[0]!.password).toBe(REDACTED);
    expect(headers.headers).toEqual({ authorization: REDACTED, cookie: REDACTED });
    expect(req.req.headers).toEqual({ authorization: REDACTED, cookie: REDACTED });
  });

  it('hides the arguments of a failed Redis command (ioredis puts the AUTH password there)', () => {
    const { logger, lines, records } = capturingLogger();
    // What ioredis rejects with when a guest's Redis access was revoked (WRONGPASS on AUTH).
    const replyError = () =>
      Object.assign(new Error('WRONGPASS invalid username-password pair'), {
        name: 'ReplyError',
        command: { name: 'auth', args: ['guest-0f6c2d6e', SECRET] },
      });
    logger.warn({ err: replyError() }, 'redis connection error');
    logger.warn({ component: 'rpc', err: replyError() }, 'rpc failed');
    logger.warn({ job: { err: replyError() } }, 'nested');
    logger.warn({ error: replyError() }, 'as error');
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).not.toContain(SECRET);
    const [first] = records() as [{ err: { message: string; command: { name: string } } }];
    expect(first.err.message).toContain('WRONGPASS');
    expect(first.err.command.name).toBe('auth');
  });

  it('keeps what is not secret, with the service and bindings on every line', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({
      service: 'coffer-test',
      level: 'info',
      bindings: { instanceId: 'i-1' },
      destination,
    });
    logger.info({ userName: 'app', port: 3306 }, 'hello');
    logger.debug('below the level');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      service: 'coffer-test',
      instanceId: 'i-1',
      pid: process.pid,
      userName: 'app',
      port: 3306,
      msg: 'hello',
    });
  });
});

describe('redactUrl', () => {
  it('replaces the password of a URL and keeps the rest', () => {
    const url = redactUrl(`redis://default:${SECRET}@redis.internal:6379/2`);
    expect(url).not.toContain(SECRET);
    expect(url).toBe('redis://default:redacted@redis.internal:6379/2');
    expect(redactUrl(`postgresql://coffer:${SECRET}@db:5432/coffer`)).toBe(
      'postgresql://coffer:redacted@db:5432/coffer',
    );
  });

  it('leaves a URL without a password as it is, and never echoes one it cannot parse', () => {
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl(`not a url ${SECRET}`)).toBe('[unparseable url]');
    expect(redactUrl(undefined)).toBeUndefined();
  });

  it('is what a logged URL looks like', () => {
    const { logger, lines } = capturingLogger();
    logger.warn({ redis: redactUrl(`rediss://u:${SECRET}@h:6380`) }, 'redis connection error');
    expect(lines.join('\n')).not.toContain(SECRET);
    expect(lines.join('\n')).toContain('rediss://u:redacted@h:6380');
  });
});
