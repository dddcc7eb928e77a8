// @ts-check
// The driver adapter the Wasm schema engine talks to PostgreSQL through: @prisma/adapter-pg's
// adapter, made migration-aware by us, with three corrections for upstream bugs (see
// README.md, "Why the Wasm schema engine"):
//
// 1. adapter-pg cannot decode PostgreSQL's internal "char" (oid 18), name (19) and their
//    arrays (1002, 1003), which the engine's introspection reads (prisma/orm#27403). Our pg
//    client relabels those columns as text / text[] and parses the arrays accordingly.
// 2. adapter-pg's connectToShadowDb(), given a connection string, connects to the *main*
//    database as the "shadow" (the connection string overrides `database`), so a diff would
//    replay every migration into the main database. We create the shadow database ourselves
//    (prisma_migrate_shadow_db_<uuid>) over a separate admin connection, point the shadow
//    pool at it explicitly, and drop it WITH (FORCE) afterwards.
// 3. adapter-pg's executeScript() splits a script on every ";" (breaking semicolons inside
//    strings, comments and function bodies). Ours sends the script as one simple-protocol
//    query, as Prisma's native engine does: PostgreSQL runs it as one implicit transaction.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

/**
 * @typedef {import('@prisma/driver-adapter-utils').SqlDriverAdapter} SqlDriverAdapter
 * @typedef {import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory} SqlMigrationAwareDriverAdapterFactory
 * @typedef {import('@prisma/driver-adapter-utils').ErrorCapturingSqlMigrationAwareDriverAdapterFactory} ErrorCapturingFactory
 */

const TEXT = 25;
const TEXT_ARRAY = 1009;
/** Catalog types adapter-pg cannot map, and what they are read as. */
const RELABEL = new Map([
  [18, TEXT], // "char"
  [19, TEXT], // name
  [1002, TEXT_ARRAY], // "char"[]
  [1003, TEXT_ARRAY], // name[]
]);
const parseTextArray = pg.types.getTypeParser(/** @type {any} */ (TEXT_ARRAY), 'text');

/** @param {any} result */
function relabelFields(result) {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of one?.fields ?? []) {
      const as = RELABEL.get(field.dataTypeID);
      if (as !== undefined) field.dataTypeID = as;
    }
  }
  return result;
}

/**
 * A pg client whose results never carry the catalog types adapter-pg rejects. It only
 * touches queries that bring their own type parsers (that is, adapter-pg's queries).
 */
class CatalogTextClient extends pg.Client {
  /**
   * @param {any} config
   * @param {any} [values]
   * @param {any} [callback]
   * @returns {any}
   */
  query(config, values, callback) {
    if (
      !config ||
      typeof config !== 'object' ||
      typeof config.submit === 'function' ||
      !config.types
    ) {
      return super.query(config, values, callback);
    }
    const inner = config.types;
    const patched = {
      ...config,
      types: {
        /** @param {number} oid @param {any} format */
        getTypeParser: (oid, format) =>
          format !== 'binary' && RELABEL.get(oid) === TEXT_ARRAY
            ? parseTextArray
            : inner.getTypeParser(oid, format),
      },
    };
    if (typeof values === 'function') {
      callback = values;
      values = undefined;
    }
    if (typeof callback === 'function') {
      return super.query(patched, values, (/** @type {any} */ error, /** @type {any} */ result) =>
        callback(error, error ? result : relabelFields(result)),
      );
    }
    return /** @type {Promise<any>} */ (super.query(patched, values)).then(relabelFields);
  }
}

/**
 * The same URL pointing at another database (the user, password, host and parameters stay).
 * @param {string} url
 * @param {string} database
 */
export function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * The database name a PostgreSQL URL points at.
 * @param {string} url
 */
export function databaseOf(url) {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** @param {string} name */
export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Opens an adapter on one connection. One connection, because the engine's session-level
 * advisory lock (taken around applyMigrations) must be held by the connection that runs
 * the migrations.
 * @param {string} url
 * @returns {Promise<SqlDriverAdapter>}
 */
async function connectAdapter(url) {
  const pool = new pg.Pool({
    connectionString: url,
    Client: CatalogTextClient,
    max: 1,
    connectionTimeoutMillis: 30_000,
    application_name: 'coffer-migrate',
  });
  const adapter = await new PrismaPg(pool, { disposeExternalPool: true }).connect();
  const base = /** @type {SqlDriverAdapter & { onError(error: unknown): never }} */ (
    /** @type {unknown} */ (adapter)
  );
  base.executeScript = async (script) => {
    try {
      await pool.query(script);
    } catch (error) {
      base.onError(error);
    }
  };
  return adapter;
}

/**
 * A migration-aware adapter factory for the schema engine, bound (error-capturing) as the
 * engine expects. `close()` ends what the engine left open and drops any shadow database
 * it did not dispose of.
 * @param {string} url the main database
 * @returns {{ factory: ErrorCapturingFactory, close(): Promise<void> }}
 */
export function createMigrationAdapterFactory(url) {
  /** @type {Set<SqlDriverAdapter>} */
  const open = new Set();
  /** @type {Set<() => Promise<void>>} */
  const shadowDrops = new Set();

  /** @param {SqlDriverAdapter} adapter @param {() => Promise<void>} [after] */
  const track = (adapter, after) => {
    open.add(adapter);
    const dispose = adapter.dispose.bind(adapter);
    let disposed = false;
    adapter.dispose = async () => {
      if (disposed) return;
      disposed = true;
      open.delete(adapter);
      try {
        await dispose();
      } finally {
        await after?.();
      }
    };
    return adapter;
  };

  /** @type {SqlMigrationAwareDriverAdapterFactory} */
  const factory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    async connect() {
      return track(await connectAdapter(url));
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      const admin = new pg.Client({
        connectionString: url,
        application_name: 'coffer-migrate-admin',
      });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      } catch (error) {
        await admin.end();
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(
          `could not create the shadow database (the migration tool needs CREATEDB rights on the server of DATABASE_URL): ${message}`,
        );
      }
      let dropped = false;
      const drop = async () => {
        if (dropped) return;
        dropped = true;
        shadowDrops.delete(drop);
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      };
      shadowDrops.add(drop);
      try {
        return track(await connectAdapter(withDatabase(url, name)), drop);
      } catch (error) {
        await drop();
        throw error;
      }
    },
  };

  return {
    factory: bindMigrationAwareSqlAdapterFactory(factory),
    async close() {
      for (const adapter of [...open]) await adapter.dispose().catch(() => {});
      for (const drop of [...shadowDrops]) await drop();
    },
  };
}
