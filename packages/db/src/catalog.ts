import type { ParameterType } from './generated/prisma/enums';

/**
 * What Coffer offers out of the box: flavors, the MariaDB datastore and the configuration
 * parameters tenants may set (Trove's validation rules). ensureCatalog() writes it.
 */

export interface FlavorDefinition {
  name: string;
  vcpus: number;
  ramMb: number;
  defaultVolumeGb: number;
}

export const FLAVORS: readonly FlavorDefinition[] = [
  { name: 'm1.tiny', vcpus: 1, ramMb: 512, defaultVolumeGb: 1 },
  { name: 'm1.small', vcpus: 1, ramMb: 1024, defaultVolumeGb: 2 },
  { name: 'm1.medium', vcpus: 2, ramMb: 2048, defaultVolumeGb: 5 },
  { name: 'm1.large', vcpus: 2, ramMb: 4096, defaultVolumeGb: 10 },
];

export const MARIADB_DATASTORE = { name: 'mariadb', manager: 'mariadb' } as const;

export interface ParameterDefinition {
  name: string;
  type: ParameterType;
  /** Inclusive bounds for INTEGER and FLOAT parameters (whole numbers). */
  min?: bigint;
  max?: bigint;
  /** For STRING parameters: the accepted values. */
  allowedValues?: readonly string[];
  isRestartRequired: boolean;
}

const KiB = 1024n;
const MiB = 1024n * KiB;
const GiB = 1024n * MiB;

/**
 * Parameters of MariaDB 10.11 a tenant may set, with MariaDB's own ranges narrowed to what
 * a managed server should accept. Only performance_schema needs a restart.
 */
export const MARIADB_PARAMETERS: readonly ParameterDefinition[] = [
  { name: 'max_connections', type: 'INTEGER', min: 10n, max: 100_000n, isRestartRequired: false },
  {
    name: 'innodb_buffer_pool_size',
    type: 'INTEGER',
    min: 5n * MiB,
    max: 64n * GiB,
    isRestartRequired: false,
  },
  { name: 'max_allowed_packet', type: 'INTEGER', min: KiB, max: GiB, isRestartRequired: false },
  { name: 'wait_timeout', type: 'INTEGER', min: 1n, max: 31_536_000n, isRestartRequired: false },
  {
    name: 'interactive_timeout',
    type: 'INTEGER',
    min: 1n,
    max: 31_536_000n,
    isRestartRequired: false,
  },
  { name: 'long_query_time', type: 'FLOAT', min: 0n, max: 3600n, isRestartRequired: false },
  { name: 'slow_query_log', type: 'BOOLEAN', isRestartRequired: false },
  { name: 'tmp_table_size', type: 'INTEGER', min: KiB, max: 4n * GiB, isRestartRequired: false },
  {
    name: 'max_heap_table_size',
    type: 'INTEGER',
    min: 16n * KiB,
    max: 4n * GiB,
    isRestartRequired: false,
  },
  { name: 'table_open_cache', type: 'INTEGER', min: 1n, max: 1_048_576n, isRestartRequired: false },
  {
    name: 'character_set_server',
    type: 'STRING',
    allowedValues: ['utf8mb4', 'utf8mb3', 'latin1', 'ascii', 'binary'],
    isRestartRequired: false,
  },
  { name: 'performance_schema', type: 'BOOLEAN', isRestartRequired: true },
];

/**
 * The datastore version a MariaDB server version belongs to: "10.11.19" → "10.11".
 * Throws on anything that is not major.minor.patch.
 */
export function mariadbVersionName(version: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`"${version}" is not a MariaDB server version such as 10.11.19`);
  return `${match[1]}.${match[2]}`;
}
