import { z } from 'zod';

import { parseIpv4, sourcesAdmit, type AllowedSources, type Cidr } from '../allowed-sources';
import { type BackupType } from '../backup';
import { characterSetTable } from './character-set-table';
import { type DatastoreDefinition } from './definition';

/**
 * What the control plane and the guest share about MariaDB alone (the datastore `mariadb`):
 * its definition (display name, the rule for its users' hosts), its character sets, its backup
 * tools and what its backups record. The shared shapes refer to these through the datastore
 * enum (character-sets.ts, datastore-definitions.ts) or carry them opaquely (a backup
 * manifest's `strategy` and `details`).
 */

// ---------------------------------------------------------------------------------------
// Character sets
// ---------------------------------------------------------------------------------------

/**
 * The character sets and collations of the MariaDB server (10.11), as
 * `information_schema.COLLATIONS` lists them: per character set, the collation suffixes
 * after `<charset>_`, the default first (`binary` has one collation, `binary`). Trove keeps
 * the same kind of table for MySQL; the API checks names against it before anything reaches
 * a guest, and the server remains the final judge.
 */
const MARIADB_COLLATION_SUFFIXES: Record<string, string> = {
  armscii8: 'general_ci bin general_nopad_ci nopad_bin',
  ascii: 'general_ci bin general_nopad_ci nopad_bin',
  big5: 'chinese_ci bin chinese_nopad_ci nopad_bin',
  binary: '',
  cp1250: 'general_ci bin croatian_ci czech_cs general_nopad_ci nopad_bin polish_ci',
  cp1251: 'general_ci bin bulgarian_ci general_cs general_nopad_ci nopad_bin ukrainian_ci',
  cp1256: 'general_ci bin general_nopad_ci nopad_bin',
  cp1257: 'general_ci bin general_nopad_ci lithuanian_ci nopad_bin',
  cp850: 'general_ci bin general_nopad_ci nopad_bin',
  cp852: 'general_ci bin general_nopad_ci nopad_bin',
  cp866: 'general_ci bin general_nopad_ci nopad_bin',
  cp932: 'japanese_ci bin japanese_nopad_ci nopad_bin',
  dec8: 'swedish_ci bin nopad_bin swedish_nopad_ci',
  eucjpms: 'japanese_ci bin japanese_nopad_ci nopad_bin',
  euckr: 'korean_ci bin korean_nopad_ci nopad_bin',
  gb2312: 'chinese_ci bin chinese_nopad_ci nopad_bin',
  gbk: 'chinese_ci bin chinese_nopad_ci nopad_bin',
  geostd8: 'general_ci bin general_nopad_ci nopad_bin',
  greek: 'general_ci bin general_nopad_ci nopad_bin',
  hebrew: 'general_ci bin general_nopad_ci nopad_bin',
  hp8: 'english_ci bin english_nopad_ci nopad_bin',
  keybcs2: 'general_ci bin general_nopad_ci nopad_bin',
  koi8r: 'general_ci bin general_nopad_ci nopad_bin',
  koi8u: 'general_ci bin general_nopad_ci nopad_bin',
  latin1:
    'swedish_ci bin danish_ci general_ci general_cs german1_ci german2_ci nopad_bin spanish_ci swedish_nopad_ci',
  latin2: 'general_ci bin croatian_ci czech_cs general_nopad_ci hungarian_ci nopad_bin',
  latin5: 'turkish_ci bin nopad_bin turkish_nopad_ci',
  latin7: 'general_ci bin estonian_cs general_cs general_nopad_ci nopad_bin',
  macce: 'general_ci bin general_nopad_ci nopad_bin',
  macroman: 'general_ci bin general_nopad_ci nopad_bin',
  sjis: 'japanese_ci bin japanese_nopad_ci nopad_bin',
  swe7: 'swedish_ci bin nopad_bin swedish_nopad_ci',
  tis620: 'thai_ci bin nopad_bin thai_nopad_ci',
  ucs2: 'general_ci bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_mysql500_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci',
  ujis: 'japanese_ci bin japanese_nopad_ci nopad_bin',
  utf16:
    'general_ci bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci',
  utf16le: 'general_ci bin general_nopad_ci nopad_bin',
  utf32:
    'general_ci bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci',
  utf8mb3:
    'general_ci bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_mysql500_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci',
  utf8mb4:
    'general_ci bin croatian_ci croatian_mysql561_ci czech_ci danish_ci esperanto_ci estonian_ci general_nopad_ci german2_ci hungarian_ci icelandic_ci latvian_ci lithuanian_ci myanmar_ci nopad_bin persian_ci polish_ci romanian_ci roman_ci sinhala_ci slovak_ci slovenian_ci spanish2_ci spanish_ci swedish_ci thai_520_w2 turkish_ci unicode_520_ci unicode_520_nopad_ci unicode_ci unicode_nopad_ci vietnamese_ci',
};

export const mariadbCharacterSets = characterSetTable(MARIADB_COLLATION_SUFFIXES);

// ---------------------------------------------------------------------------------------
// Backups
// ---------------------------------------------------------------------------------------

/** The tool that makes (and restores) each backup type: a manifest's `strategy`. Physical is the default. */
export const MARIADB_BACKUP_TOOLS = {
  FULL: 'mariadb-backup',
  INCREMENTAL: 'mariadb-backup',
  LOGICAL: 'mariadb-dump',
} as const satisfies Record<BackupType, string>;
export type MariadbBackupTool = (typeof MARIADB_BACKUP_TOOLS)[BackupType];

/** An InnoDB log sequence number, as a decimal string (it can exceed 2^53). */
export const lsnSchema = z.string().regex(/^[0-9]+$/, 'not an LSN');

export const binlogPositionSchema = z.object({
  file: z.string().min(1),
  position: z.number().int().nonnegative(),
});

/**
 * A MariaDB backup's `details` (its manifest's, its report's and its row's): the InnoDB
 * checkpoint LSNs of a physical backup (`from` is 0 for a full; null for a logical one), and
 * the binary log position and GTID it was taken at. Manifests written before `details`
 * existed carry the same fields at their top level; the manifest schema moves them here when
 * it parses one. Its `incrementalBase` is `lsn.to` (mariadbIncrementalBase).
 */
export const mariadbBackupDetailsSchema = z.object({
  lsn: z.object({ from: lsnSchema, to: lsnSchema, last: lsnSchema }).nullable(),
  binlog: binlogPositionSchema.nullable(),
  gtid: z.string().nullable(),
});
export type MariadbBackupDetails = z.infer<typeof mariadbBackupDetailsSchema>;

/** Where an incremental of this backup continues from (the LSN its pages are complete to); null for a logical one. */
export function mariadbIncrementalBase(details: MariadbBackupDetails): string | null {
  return details.lsn?.to ?? null;
}

/** A backup's stored `details` read as MariaDB's; null when they are missing or not MariaDB's. */
export function readMariadbBackupDetails(details: unknown): MariadbBackupDetails | null {
  const parsed = mariadbBackupDetailsSchema.safeParse(details);
  return parsed.success ? parsed.data : null;
}

// ---------------------------------------------------------------------------------------
// Users' hosts
// ---------------------------------------------------------------------------------------

/**
 * The rule for MariaDB users' host patterns (issue 13): a user is only useful if its clients
 * can get through the instance's allowed sources, so a host pattern that names addresses must
 * fall inside them. Always accepted: `%` (anywhere: the firewall is the bound, so it widens
 * nothing), `localhost` (the socket) and loopback addresses (the control plane and the
 * project's own instances on the local provider). A public instance with no CIDRs is reachable
 * from anywhere, so every host is. Otherwise an address, an address/netmask pair or a pattern
 * (`10.0.%`: the network of its fixed leading octets, 10.0.0.0/16) must lie within one allowed
 * CIDR. Returns the reason a host is refused, or null. Hosts the server cannot match at all are
 * `userHostSchema`'s to refuse; they pass here.
 */
export function mariadbUserHostOutsideSources(
  host: string,
  sources: AllowedSources,
): string | null {
  if (host === '%' || host === 'localhost') return null;
  const covering = userHostNetwork(host);
  if (!covering || sourcesAdmit(sources, covering)) return null;
  const list = sources.cidrs.length > 0 ? sources.cidrs.join(', ') : 'none besides loopback';
  return `Host ${host} is outside the instance's allowed sources (${list}): add its network to them first, or use %`;
}

/** The IPv4 network a MariaDB host pattern matches at most, or null when it is not an IPv4 form. */
function userHostNetwork(host: string): Cidr | null {
  const exact = parseIpv4(host);
  if (exact !== null) return { family: 4, network: exact, prefix: 32 };
  const pair = host.split('/');
  if (pair.length === 2) {
    const address = parseIpv4(pair[0]!);
    const mask = parseIpv4(pair[1]!);
    if (address === null || mask === null) return null;
    let prefix = 0;
    for (let bit = 31n; bit >= 0n && (mask >> bit) & 1n; bit--) prefix++;
    return { family: 4, network: address, prefix };
  }
  if (!/[%_]/.test(host)) return null;
  const fixed: bigint[] = [];
  for (const part of host.split('.')) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) break;
    fixed.push(BigInt(part));
  }
  const network = [0, 1, 2, 3].reduce((value, i) => (value << 8n) | (fixed[i] ?? 0n), 0n);
  return { family: 4, network, prefix: fixed.length * 8 };
}

// ---------------------------------------------------------------------------------------
// Definition
// ---------------------------------------------------------------------------------------

/** MariaDB as the control plane knows it (`datastoreDefinition('mariadb')`). */
export const mariadbDatastore: DatastoreDefinition = {
  name: 'mariadb',
  displayName: 'MariaDB',
  userHostOutsideSources: mariadbUserHostOutsideSources,
};
