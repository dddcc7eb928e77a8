import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from './logger';
import { closeInOrder, installShutdownHandlers } from './shutdown';

const logger = createLogger({
  service: 'coffer-test',
  level: 'silent',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

/** A signal nothing else in the test process listens to, emitted in-process. */
const SIGNAL = 'SIGUSR2';

afterEach(() => {
  process.removeAllListeners(SIGNAL);
});

function exitCode(): { promise: Promise<number>; exit: (code: number) => void } {
  let exit!: (code: number) => void;
  const promise = new Promise<number>((resolve) => (exit = resolve));
  return { promise, exit };
}

describe('closeInOrder', () => {
  it('closes every step in order, goes on past a failure, and then reports it', async () => {
    const closed: string[] = [];
    const step = (name: string, fails = false) => ({
      name,
      close: async () => {
        closed.push(name);
        if (fails) throw new Error(`${name} broke`);
      },
    });
    await expect(
      closeInOrder([step('workers'), step('stream reader', true), step('redis')], logger),
    ).rejects.toThrow('shutdown: stream reader did not close cleanly');
    expect(closed).toEqual(['workers', 'stream reader', 'redis']);
  });
});

describe('installShutdownHandlers', () => {
  it('stops once on a signal and exits 0', async () => {
    const { promise, exit } = exitCode();
    const closed: string[] = [];
    installShutdownHandlers(
      [
        { name: 'a', close: () => void closed.push('a') },
        { name: 'b', close: () => void closed.push('b') },
      ],
      logger,
      { signals: [SIGNAL], exit },
    );
    process.emit(SIGNAL, SIGNAL);
    expect(await promise).toBe(0);
    expect(closed).toEqual(['a', 'b']);
  });

  it('exits 1 when stopping fails', async () => {
    const { promise, exit } = exitCode();
    installShutdownHandlers(() => Promise.reject(new Error('no')), logger, {
      signals: [SIGNAL],
      exit,
    });
    process.emit(SIGNAL, SIGNAL);
    expect(await promise).toBe(1);
  });

  it('exits 1 when stopping outlasts its bound, and at once on a second signal', async () => {
    const hung = exitCode();
    installShutdownHandlers(() => new Promise<void>(() => undefined), logger, {
      signals: [SIGNAL],
      timeoutMs: 50,
      exit: hung.exit,
    });
    process.emit(SIGNAL, SIGNAL);
    expect(await hung.promise).toBe(1);

    process.removeAllListeners(SIGNAL);
    const codes: number[] = [];
    installShutdownHandlers(() => new Promise<void>(() => undefined), logger, {
      signals: [SIGNAL],
      timeoutMs: 60_000,
      exit: (code) => codes.push(code),
    });
    process.emit(SIGNAL, SIGNAL);
    process.emit(SIGNAL, SIGNAL);
    expect(codes).toEqual([1]);
  });
});
