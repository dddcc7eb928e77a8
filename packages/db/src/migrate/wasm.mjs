// @ts-check
// Loads Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm).
//
// The package entry (`schema_engine.js`) imports the `.wasm` file as an ES module, which
// Node 20 only allows behind --experimental-wasm-modules. So we do by hand what that entry
// does: import the wasm-bindgen JS glue, instantiate the sibling `.wasm` with the glue as
// its import object, hand the instance's exports to the glue and run its start function.
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** @typedef {typeof import('@prisma/schema-engine-wasm')} SchemaEngineModule */

/** @type {Promise<SchemaEngineModule> | undefined} */
let loading;

/**
 * The initialised wasm-bindgen module (once per process: the glue keeps the instance in a
 * module-level variable).
 * @returns {Promise<SchemaEngineModule>}
 */
export function loadSchemaEngineModule() {
  loading ??= instantiate().catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

/** @returns {Promise<SchemaEngineModule>} */
async function instantiate() {
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  /** @type {SchemaEngineModule & { __wbg_set_wasm(exports: Record<string, unknown>): void }} */
  const glue = await import(pathToFileURL(gluePath).href);
  const bytes = await fs.readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
  // (TypeScript's ES libs have no WebAssembly types without DOM; hence the cast.)
  /** @type {{ instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> }} */
  const wasmApi = /** @type {any} */ (globalThis).WebAssembly;
  const { instance } = await wasmApi.instantiate(bytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  /** @type {() => void} */ (instance.exports.__wbindgen_start)();
  return glue;
}
