import { type ConfigurationValues } from '@coffer/contracts';

/**
 * A configuration group's values as the console edits them: one `name = value` per line
 * (blank lines and `#` comments skipped). The text is sent as it is: the API checks names,
 * types and ranges against the version's catalogue and names each refused value.
 */
export function valuesOfText(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    if (at < 0) values[trimmed] = '';
    else values[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return values;
}

/** One value as a line's right-hand side (booleans as the server spells them). */
export function formatValue(value: string | number | boolean): string {
  return typeof value === 'boolean' ? (value ? 'ON' : 'OFF') : String(value);
}

/** Values as `name = value` lines, in name order. */
export function textOfValues(values: ConfigurationValues): string {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name} = ${formatValue(value)}`)
    .join('\n');
}

/**
 * A refused group's errors as the forms show them: the name's, and every refused value's
 * message (the API's words: the parameter and its rule), from its `values.<name>` field errors.
 */
export function groupFieldErrors(fieldErrors: Record<string, string[]>): {
  name: string | null;
  values: string[];
  /** Any other field's (the datastore version's). */
  others: string[];
} {
  const values: string[] = [];
  const others: string[] = [];
  let name: string | null = null;
  for (const [field, messages] of Object.entries(fieldErrors)) {
    if (field === 'name') name ??= messages[0] ?? null;
    else if (field === 'values' || field.startsWith('values.')) values.push(...messages);
    else others.push(...messages);
  }
  return { name, values, others };
}
