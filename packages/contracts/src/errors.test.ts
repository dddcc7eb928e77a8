import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';

import {
  AppError,
  CofferError,
  decodeFailureReason,
  encodeFailureReason,
  FAILURE_REASON_PREFIX,
} from './errors';

describe('CofferError', () => {
  it('round-trips through its JSON form, with and without field and details', () => {
    const full = new CofferError('CONFLICT', 'A database named app already exists.', {
      field: 'name',
      details: { fieldErrors: { name: ['taken'] }, retryAfterSeconds: 3 },
      cause: new Error('secret internals'),
    });
    const json = JSON.parse(JSON.stringify(full)) as unknown;
    expect(json).toEqual({
      code: 'CONFLICT',
      message: 'A database named app already exists.',
      field: 'name',
      details: { fieldErrors: { name: ['taken'] }, retryAfterSeconds: 3 },
    });
    const back = CofferError.fromJSON(json);
    expect(back).toBeInstanceOf(CofferError);
    expect(back.toJSON()).toEqual(full.toJSON());
    // The cause stays in the process that threw.
    expect(back.cause).toBeUndefined();

    const bare = new CofferError('NOT_FOUND', 'No user x@%.');
    expect(bare.toJSON()).toEqual({ code: 'NOT_FOUND', message: 'No user x@%.' });
    expect(Object.keys(CofferError.fromJSON(bare.toJSON()).toJSON())).toEqual(['code', 'message']);
  });

  it('is the web app’s AppError', () => {
    expect(new AppError('FORBIDDEN', 'no')).toBeInstanceOf(CofferError);
    expect(CofferError.fromJSON({ code: 'FORBIDDEN', message: 'no' })).toBeInstanceOf(AppError);
  });

  it.each([
    ['null', null],
    ['a string', 'CONFLICT: taken'],
    ['no code', { message: 'x' }],
    ['an unknown code', { code: 'TEAPOT', message: 'x' }],
    ['a message that is not text', { code: 'CONFLICT', message: 42 }],
    ['no message', { code: 'CONFLICT' }],
    ['a field that is not a name', { code: 'CONFLICT', message: 'x', field: 'a b]' }],
    ['an empty field', { code: 'CONFLICT', message: 'x', field: '' }],
    ['details that are not an object', { code: 'CONFLICT', message: 'x', details: 'oops' }],
  ])('refuses %s', (_, value) => {
    expect(CofferError.isCofferErrorJSON(value)).toBe(false);
    expect(() => CofferError.fromJSON(value)).toThrow(ZodError);
  });
});

describe('failure reasons (what a failed BullMQ job keeps)', () => {
  it('carry the JSON form behind a fixed prefix, and read it back', () => {
    const error = new CofferError('BAD_REQUEST', 'Unknown collation: x', { field: 'collation' });
    const reason = encodeFailureReason(error);
    expect(reason.startsWith(FAILURE_REASON_PREFIX)).toBe(true);
    expect(decodeFailureReason(reason)?.toJSON()).toEqual(error.toJSON());
  });

  it('still read the old `CODE[field]: message` form of a guest refusal', () => {
    expect(
      decodeFailureReason('CONFLICT[name]: A database named app already exists.')?.toJSON(),
    ).toEqual({ code: 'CONFLICT', field: 'name', message: 'A database named app already exists.' });
    expect(decodeFailureReason('NOT_FOUND: No user x@%.')?.toJSON()).toEqual({
      code: 'NOT_FOUND',
      message: 'No user x@%.',
    });
  });

  it.each([
    ['a plain message', 'The database server cannot be restarted.'],
    ['a refused job', 'refused: bad signature'],
    ['an old-form code that is not a refusal', 'INTERNAL: nope'],
    ['a prefix with no JSON', `${FAILURE_REASON_PREFIX}{not json`],
    [
      'a prefix with JSON that is no error',
      `${FAILURE_REASON_PREFIX}{"code":"TEAPOT","message":"x"}`,
    ],
  ])('carry no error in %s', (_, reason) => {
    expect(decodeFailureReason(reason)).toBeNull();
  });
});
