import { z } from 'zod';

import mariadb1011 from './catalogs/mariadb-10.11.json' with { type: 'json' };

/**
 * The configuration parameter catalogue of one datastore version (issue 15): what a tenant may
 * set in a configuration group, with each parameter's type, bounds or allowed values, the
 * server's default and whether a change applies at once (`dynamic`) or waits for a restart.
 * Generated from the real server by `npm run catalog:mariadb -w @coffer/contracts`
 * (scripts/generate-mariadb-catalog.mjs) and kept as JSON per version in catalogs/; what
 * would break the guest or the security model is left out, and listed under `excluded` with
 * the reason.
 */

export const PARAMETER_TYPES = [
  'integer',
  'float',
  'boolean',
  'enum',
  'set',
  'flagset',
  'string',
] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export const catalogParameterSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  type: z.enum(PARAMETER_TYPES),
  /** True: SET GLOBAL applies it at once; false: it waits for a restart. */
  dynamic: z.boolean(),
  /** The my.cnf option, when it is not spelled like the variable (time_zone: default_time_zone). */
  option: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .optional(),
  /** Inclusive bounds of integer and float parameters, as decimal text (they pass 2^53). */
  min: z.string().optional(),
  max: z.string().optional(),
  blockSize: z.string().optional(),
  /** enum, set, flagset: the server's values (a flagset's flags). */
  allowedValues: z.array(z.string()).optional(),
  /** The server's compiled-in default, as it reports it. */
  default: z.string().nullable(),
  /** Coffer writes its own value into my.cnf: sized from the flavor, or a fixed choice of Coffer's. */
  source: z.enum(['flavor', 'coffer']).optional(),
});
export type CatalogParameter = z.infer<typeof catalogParameterSchema>;

export const configurationCatalogSchema = z.object({
  datastore: z.string(),
  /** The datastore version's name, e.g. "10.11". */
  version: z.string(),
  /** The server it was generated from, e.g. "10.11.19-MariaDB-0+deb12u1". */
  serverVersion: z.string(),
  generatedBy: z.string(),
  parameters: z.array(catalogParameterSchema),
  excluded: z.array(z.object({ name: z.string(), reason: z.string() })),
});
export type ConfigurationCatalog = z.infer<typeof configurationCatalogSchema> & {
  /** The parameters by name (built once). */
  byName: ReadonlyMap<string, CatalogParameter>;
  excludedByName: ReadonlyMap<string, string>;
};

function loadCatalog(data: unknown): ConfigurationCatalog {
  const catalog = configurationCatalogSchema.parse(data);
  return {
    ...catalog,
    byName: new Map(catalog.parameters.map((parameter) => [parameter.name, parameter])),
    excludedByName: new Map(catalog.excluded.map((entry) => [entry.name, entry.reason])),
  };
}

const CATALOGS: Record<string, () => ConfigurationCatalog> = {};
const loaded = new Map<string, ConfigurationCatalog>();

function register(data: { datastore: string; version: string }): void {
  const key = `${data.datastore}/${data.version}`;
  CATALOGS[key] = () => {
    let catalog = loaded.get(key);
    if (!catalog) {
      catalog = loadCatalog(data);
      loaded.set(key, catalog);
    }
    return catalog;
  };
}

register(mariadb1011);

/** The catalogue of a datastore version ("mariadb", "10.11"), or null when Coffer has none for it. */
export function findConfigurationCatalog(
  datastore: string,
  version: string,
): ConfigurationCatalog | null {
  return CATALOGS[`${datastore}/${version}`]?.() ?? null;
}

/** Every catalogue Coffer has, as "datastore/version". */
export function configurationCatalogKeys(): string[] {
  return Object.keys(CATALOGS);
}

/** A parameter name as the server spells its variable: `Innodb-Flush-Method` → `innodb_flush_method`. */
export function canonicalParameterName(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}
