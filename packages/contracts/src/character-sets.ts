import { DATASTORE_MANAGERS, type DatastoreManagerName } from './datastore';
import { type CharacterSetTable } from './datastores/character-set-table';
import { mariadbCharacterSets } from './datastores/mariadb';

export type { CharacterSetTable } from './datastores/character-set-table';

/**
 * Character sets and collations, per datastore: each datastore's module owns its table
 * (datastores/<name>.ts); this file only finds it by the datastore enum.
 */
export const DATASTORE_CHARACTER_SETS: Readonly<Record<DatastoreManagerName, CharacterSetTable>> = {
  mariadb: mariadbCharacterSets,
};

/** The character sets and collations of one datastore. */
export function characterSetsOf(datastore: DatastoreManagerName): CharacterSetTable {
  return DATASTORE_CHARACTER_SETS[datastore];
}

/*
 * Where no datastore is named (an input schema that any instance's API call shares, a form),
 * a name is known when some datastore supports it; its datastore's server remains the final
 * judge.
 */
const tables = DATASTORE_MANAGERS.map((datastore) => DATASTORE_CHARACTER_SETS[datastore]);
const firstOf = <T>(read: (table: CharacterSetTable) => T | null): T | null => {
  for (const table of tables) {
    const value = read(table);
    if (value !== null) return value;
  }
  return null;
};

/** Every character set some datastore supports, sorted. */
export const CHARACTER_SETS: readonly string[] = [
  ...new Set(tables.flatMap((table) => table.names)),
].sort();

export function isSupportedCharacterSet(name: string): boolean {
  return tables.some((table) => table.isSupportedCharacterSet(name));
}

/** The collations of a character set, its default first (empty for an unknown one). */
export function collationsOf(characterSet: string): string[] {
  return (
    firstOf((table) =>
      table.isSupportedCharacterSet(characterSet) ? table.collationsOf(characterSet) : null,
    ) ?? []
  );
}

export function defaultCollationOf(characterSet: string): string | null {
  return collationsOf(characterSet)[0] ?? null;
}

/** The character set a collation belongs to, or null for an unknown collation. */
export function characterSetOfCollation(collation: string): string | null {
  return firstOf((table) => table.characterSetOfCollation(collation));
}

export function isSupportedCollation(name: string): boolean {
  return tables.some((table) => table.isSupportedCollation(name));
}
