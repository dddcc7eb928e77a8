import { describe, expect, it } from 'vitest';

import {
  compareGtidPositions,
  deriveReplicationState,
  describeReplicationError,
  gtidPositionSchema,
  hasReachedGtid,
  pickMostAdvanced,
  replicationUserName,
  replicationUserNameSchema,
  type ReplicaThreads,
  type ReplicationState,
} from './replication';

describe('GTID positions', () => {
  it.each([
    ['', '', 'equal'],
    ['0-1-5', '0-1-5', 'equal'],
    ['0-1-6', '0-1-5', 'ahead'],
    ['0-1-5', '0-1-6', 'behind'],
    // Another server id in the same domain: only the sequence counts (strict mode).
    ['0-2-7', '0-1-6', 'ahead'],
    ['0-1-5', '', 'ahead'],
    ['', '0-1-5', 'behind'],
    ['0-1-5,1-3-2', '0-1-5', 'ahead'],
    ['0-1-5,1-3-2', '0-1-6,1-3-1', 'diverged'],
    ['0-1-99999999999999999999', '0-1-99999999999999999998', 'ahead'],
  ] as const)('%s against %s: %s', (a, b, expected) => {
    expect(compareGtidPositions(a, b)).toBe(expected);
  });

  it('has reached a position when equal or ahead in each domain', () => {
    expect(hasReachedGtid('0-1-10', '0-1-10')).toBe(true);
    expect(hasReachedGtid('0-3-11', '0-1-10')).toBe(true);
    expect(hasReachedGtid('0-1-9', '0-1-10')).toBe(false);
    expect(hasReachedGtid('0-1-10', '0-1-10,1-1-1')).toBe(false);
  });

  it('picks the most advanced replica, or the greatest when they diverged', () => {
    expect(pickMostAdvanced([])).toBe(-1);
    expect(pickMostAdvanced(['0-1-5'])).toBe(0);
    expect(pickMostAdvanced(['0-1-5', '0-1-9', '0-1-7'])).toBe(1);
    expect(pickMostAdvanced(['0-1-9', '0-1-9'])).toBe(0);
    expect(pickMostAdvanced(['0-1-9,1-1-1', '0-1-9'])).toBe(0);
    expect(pickMostAdvanced(['0-1-5,1-1-9', '0-1-8,1-1-1'])).toBe(0);
  });

  it('accepts what the server prints and refuses anything else', () => {
    expect(gtidPositionSchema.parse('0-1-5,\n1-2-3')).toBe('0-1-5,1-2-3');
    expect(gtidPositionSchema.parse('')).toBe('');
    for (const bad of ["0-1-5'; DROP", '0-1', 'a-b-c', '0-1-5,'])
      expect(gtidPositionSchema.safeParse(bad).success, bad).toBe(false);
  });
});

describe('replication accounts', () => {
  it('are named after the replica and only such names pass', () => {
    const name = replicationUserName('0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(name).toBe('coffer_repl_0f8fad5bd9cb469fa16570867728950e');
    expect(replicationUserNameSchema.safeParse(name).success).toBe(true);
    expect(replicationUserNameSchema.safeParse('coffer_admin').success).toBe(false);
    expect(replicationUserNameSchema.safeParse(`${name}'`).success).toBe(false);
  });
});

const running: ReplicaThreads = {
  sourceHost: '127.0.0.1',
  sourcePort: 3306,
  ioThread: 'RUNNING',
  sqlThread: 'RUNNING',
  secondsBehindSource: 0,
  usingGtid: 'SLAVE_POS',
  gtidIoPosition: '0-1-5',
  sourceLogFile: 'mysql-bin.000001',
  sourceLogPosition: 1000,
  lastIoError: null,
  lastSqlError: null,
};
const ioError = { errno: 2003, message: "error reconnecting to master 'repl@127.0.0.1:3306'" };
const sqlError = { errno: 1062, message: "Duplicate entry '3' for key 'PRIMARY'" };

describe('deriveReplicationState', () => {
  const table: Array<[string, ReplicaThreads | null, ReplicationState | null]> = [
    ['not a replica', null, null],
    ['both threads running', running, 'REPLICATING'],
    ['running with an old I/O error', { ...running, lastIoError: ioError }, 'REPLICATING'],
    ['connecting, no error yet', { ...running, ioThread: 'CONNECTING' }, 'CONNECTING'],
    [
      'cannot reach its source',
      { ...running, ioThread: 'CONNECTING', lastIoError: ioError },
      'BROKEN',
    ],
    [
      'I/O thread stopped by an error',
      { ...running, ioThread: 'STOPPED', lastIoError: ioError },
      'BROKEN',
    ],
    [
      'SQL thread stopped by an error',
      { ...running, sqlThread: 'STOPPED', lastSqlError: sqlError },
      'BROKEN',
    ],
    ['SQL thread stopped by hand', { ...running, sqlThread: 'STOPPED' }, 'STOPPED'],
    ['both stopped by hand', { ...running, sqlThread: 'STOPPED', ioThread: 'STOPPED' }, 'STOPPED'],
  ];
  it.each(table)('%s → %s', (_label, replica, expected) => {
    expect(deriveReplicationState(replica)).toBe(expected);
  });

  it("says what broke, in the server's words", () => {
    expect(describeReplicationError(running)).toBeNull();
    expect(
      describeReplicationError({ ...running, sqlThread: 'STOPPED', lastSqlError: sqlError }),
    ).toBe("SQL thread stopped (error 1062): Duplicate entry '3' for key 'PRIMARY'");
    expect(
      describeReplicationError({ ...running, ioThread: 'CONNECTING', lastIoError: ioError }),
    ).toMatch(/^I\/O thread cannot connect to its source \(error 2003\)/);
  });
});
