import { describe, expect, it } from 'vitest';

import { fillIncompressible, incompressibleFillSql } from './fill';

describe('incompressible fill', () => {
  it('creates the table, then inserts every row in batches, the last one short', () => {
    expect(incompressibleFillSql({ table: 'blobs', rows: 25_000 })).toEqual([
      'CREATE TABLE blobs (id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)',
      'INSERT INTO blobs (b) SELECT RANDOM_BYTES(1000) FROM seq_1_to_10000',
      'INSERT INTO blobs (b) SELECT RANDOM_BYTES(1000) FROM seq_1_to_10000',
      'INSERT INTO blobs (b) SELECT RANDOM_BYTES(1000) FROM seq_1_to_5000',
    ]);
  });

  it('reads the sequence of another schema, with rows of the size asked', () => {
    expect(
      incompressibleFillSql({
        table: 'app.filler',
        rows: 2000,
        rowBytes: 1024,
        sequenceSchema: 'app',
      }),
    ).toEqual([
      'CREATE TABLE app.filler (id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)',
      'INSERT INTO app.filler (b) SELECT RANDOM_BYTES(1024) FROM app.seq_1_to_2000',
    ]);
  });

  it('refuses a count that is not a positive whole number', () => {
    expect(() => incompressibleFillSql({ table: 't', rows: 0 })).toThrow();
    expect(() => incompressibleFillSql({ table: 't', rows: 10, batchRows: 2.5 })).toThrow();
  });

  it('runs the statements in order through the query given', async () => {
    const ran: string[] = [];
    await fillIncompressible(async (sql) => ran.push(sql), { table: 't', rows: 3, batchRows: 2 });
    expect(ran).toEqual([
      'CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)',
      'INSERT INTO t (b) SELECT RANDOM_BYTES(1000) FROM seq_1_to_2',
      'INSERT INTO t (b) SELECT RANDOM_BYTES(1000) FROM seq_1_to_1',
    ]);
  });
});
