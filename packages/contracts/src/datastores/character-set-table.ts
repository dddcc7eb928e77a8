/**
 * A datastore's character sets and collations, built from a table the datastore's module owns
 * (e.g. ./mariadb.ts): per character set, the collation suffixes after `<charset>_`, the
 * default first; an empty entry is a set whose one collation bears its own name (`binary`).
 */
export interface CharacterSetTable {
  /** Every supported character set, sorted. */
  readonly names: readonly string[];
  isSupportedCharacterSet(name: string): boolean;
  /** The collations of a character set, its default first (empty for an unknown one). */
  collationsOf(characterSet: string): string[];
  defaultCollationOf(characterSet: string): string | null;
  /** The character set a collation belongs to, or null for an unknown collation. */
  characterSetOfCollation(collation: string): string | null;
  isSupportedCollation(name: string): boolean;
}

export function characterSetTable(collationSuffixes: Record<string, string>): CharacterSetTable {
  const isSupportedCharacterSet = (name: string) => Object.hasOwn(collationSuffixes, name);
  const collationsOf = (characterSet: string): string[] => {
    if (!isSupportedCharacterSet(characterSet)) return [];
    const suffixes = collationSuffixes[characterSet]!;
    if (suffixes === '') return [characterSet];
    return suffixes.split(' ').map((suffix) => `${characterSet}_${suffix}`);
  };
  const names = Object.keys(collationSuffixes).sort();
  const characterSetOf: ReadonlyMap<string, string> = new Map(
    names.flatMap((characterSet) =>
      collationsOf(characterSet).map((collation) => [collation, characterSet] as const),
    ),
  );
  return {
    names,
    isSupportedCharacterSet,
    collationsOf,
    defaultCollationOf: (characterSet) => collationsOf(characterSet)[0] ?? null,
    characterSetOfCollation: (collation) => characterSetOf.get(collation) ?? null,
    isSupportedCollation: (name) => characterSetOf.has(name),
  };
}
