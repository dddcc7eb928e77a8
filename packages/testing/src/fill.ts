/**
 * Data that does not compress, for tests that need a backup of many chunks or a slow one:
 * random bytes from MariaDB's sequence engine (`seq_1_to_N`), inserted in batches so that no
 * statement holds much in memory. Plain SQL: each test runs it over its own connection.
 */

export interface IncompressibleFill {
  /** Created here, `(id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)`; may name its schema (`app.filler`). */
  table: string;
  rows: number;
  /** Random bytes a row (default 1000). */
  rowBytes?: number;
  /** Rows a statement (default 10 000: 10 MB of 1000-byte rows). */
  batchRows?: number;
  /** The schema whose sequence tables to read, when not the connection's database. */
  sequenceSchema?: string;
}

/** The statements: the table, then one INSERT … SELECT a batch. */
export function incompressibleFillSql({
  table,
  rows,
  rowBytes = 1000,
  batchRows = 10_000,
  sequenceSchema,
}: IncompressibleFill): string[] {
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(batchRows) || batchRows < 1)
    throw new Error('rows and batchRows must be positive whole numbers');
  const sequence = (count: number) =>
    sequenceSchema === undefined ? `seq_1_to_${count}` : `${sequenceSchema}.seq_1_to_${count}`;
  const statements = [`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)`];
  for (let done = 0; done < rows; done += batchRows) {
    const count = Math.min(batchRows, rows - done);
    statements.push(
      `INSERT INTO ${table} (b) SELECT RANDOM_BYTES(${rowBytes}) FROM ${sequence(count)}`,
    );
  }
  return statements;
}

/** Runs those statements, one after the other, through `query`. */
export async function fillIncompressible(
  query: (sql: string) => Promise<unknown>,
  fill: IncompressibleFill,
): Promise<void> {
  for (const sql of incompressibleFillSql(fill)) await query(sql);
}
