import { z } from 'zod';

import {
  canonicalParameterName,
  type CatalogParameter,
  type ConfigurationCatalog,
} from './catalog';

/**
 * Checks a configuration group's values against a version's catalogue (issue 15): every
 * error names the parameter and the rule (`max_connections: 100001 is above the maximum of
 * 100000`). Values come back normalized: names as the server spells them, integers as numbers
 * (decimal text past 2^53), booleans as booleans, enum and set members in the server's
 * spelling. The server stays the final judge: a value it refuses at apply time is rolled back
 * on that instance (the guest says which).
 */

/** A value as groups store it and guests receive it. */
export const configurationValueSchema = z.union([z.string().max(1024), z.number(), z.boolean()]);
export type ConfigurationValue = z.infer<typeof configurationValueSchema>;
export type ConfigurationValues = Record<string, ConfigurationValue>;

/** At most this many values in one group. */
export const MAX_CONFIGURATION_VALUES = 100;
/** Text values: letters, digits and `_ . , + : % / = -`, at most this long (no spaces, quotes, newlines, `#` or `\`). */
export const MAX_CONFIGURATION_TEXT = 1000;
const SAFE_TEXT = /^[A-Za-z0-9_.,+:%/=-]*$/;
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const CONFIGURATION_RULES = [
  'name',
  'unknown',
  'excluded',
  'duplicate',
  'count',
  'type',
  'minimum',
  'maximum',
  'allowed',
  'characters',
] as const;
export type ConfigurationRule = (typeof CONFIGURATION_RULES)[number];

export interface ConfigurationError {
  /** The parameter (as the server spells it; as given when it is not a name at all). */
  name: string;
  rule: ConfigurationRule;
  /** `<name>: <what is wrong>`. */
  message: string;
}

export interface ConfigurationCheck {
  values: ConfigurationValues;
  errors: ConfigurationError[];
}

/** A given name or value quoted for a message: short, without control characters. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const SUFFIX: Record<string, bigint> = {
  K: 1024n,
  M: 1024n ** 2n,
  G: 1024n ** 3n,
  T: 1024n ** 4n,
};

function parseInteger(value: unknown): bigint | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : null;
  if (typeof value !== 'string') return null;
  const match = /^(-?\d{1,20})([KMGT])?$/i.exec(value.trim());
  if (!match?.[1]) return null;
  const base = BigInt(match[1]);
  return match[2] ? base * (SUFFIX[match[2].toUpperCase()] ?? 1n) : base;
}

function parseFloatValue(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !/^-?\d{1,20}(\.\d{1,12})?$/.test(value.trim())) return null;
  return Number(value);
}

const TRUE_WORDS = new Set(['on', 'true', '1', 'yes']);
const FALSE_WORDS = new Set(['off', 'false', '0', 'no']);

function parseBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return null;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return null;
}

type Checked = { value: ConfigurationValue } | { rule: ConfigurationRule; problem: string };

function checkText(value: unknown): Checked | string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return { rule: 'type', problem: `${shown(value)} is not text` };
  if (value.length > MAX_CONFIGURATION_TEXT) {
    return { rule: 'characters', problem: `is longer than ${MAX_CONFIGURATION_TEXT} characters` };
  }
  if (!SAFE_TEXT.test(value)) {
    return {
      rule: 'characters',
      problem: `${shown(value)} has characters that are not allowed (letters, digits and _ . , + : % / = - only)`,
    };
  }
  return value;
}

/** One value against its parameter's rule. */
export function checkParameterValue(parameter: CatalogParameter, value: unknown): Checked {
  switch (parameter.type) {
    case 'integer': {
      const number = parseInteger(value);
      if (number === null)
        return { rule: 'type', problem: `${shown(value)} is not a whole number` };
      if (parameter.min !== undefined && number < BigInt(parameter.min)) {
        return { rule: 'minimum', problem: `${number} is below the minimum of ${parameter.min}` };
      }
      if (parameter.max !== undefined && number > BigInt(parameter.max)) {
        return { rule: 'maximum', problem: `${number} is above the maximum of ${parameter.max}` };
      }
      const asNumber = Number(number);
      return { value: Number.isSafeInteger(asNumber) ? asNumber : number.toString() };
    }
    case 'float': {
      const number = parseFloatValue(value);
      if (number === null) return { rule: 'type', problem: `${shown(value)} is not a number` };
      if (parameter.min !== undefined && number < Number(parameter.min)) {
        return { rule: 'minimum', problem: `${number} is below the minimum of ${parameter.min}` };
      }
      if (parameter.max !== undefined && number > Number(parameter.max)) {
        return { rule: 'maximum', problem: `${number} is above the maximum of ${parameter.max}` };
      }
      return { value: number };
    }
    case 'boolean': {
      const flag = parseBoolean(value);
      if (flag === null) return { rule: 'type', problem: `${shown(value)} is not ON or OFF` };
      return { value: flag };
    }
    case 'enum': {
      const text = checkText(value);
      if (typeof text !== 'string') return text;
      const allowed = parameter.allowedValues;
      if (!allowed) {
        if (!/^[A-Za-z0-9_]{1,64}$/.test(text)) {
          return { rule: 'allowed', problem: `${shown(value)} is not a name` };
        }
        return { value: text };
      }
      const match = allowed.find((candidate) => candidate.toLowerCase() === text.toLowerCase());
      if (match === undefined) {
        return {
          rule: 'allowed',
          problem: `${shown(value)} is not one of ${allowed.length > 12 ? `the ${allowed.length} values the server knows` : allowed.join(', ')}`,
        };
      }
      return { value: match };
    }
    case 'set': {
      const text = checkText(value);
      if (typeof text !== 'string') return text;
      const allowed = parameter.allowedValues ?? [];
      const members = text === '' ? [] : text.split(',').map((member) => member.trim());
      const canonical: string[] = [];
      for (const member of members) {
        const match = allowed.find((candidate) => candidate.toLowerCase() === member.toLowerCase());
        if (match === undefined) {
          return { rule: 'allowed', problem: `${shown(member)} is not one of its values` };
        }
        canonical.push(match);
      }
      return { value: canonical.join(',') };
    }
    case 'flagset': {
      const text = checkText(value);
      if (typeof text !== 'string') return text;
      const flags = (parameter.allowedValues ?? []).filter((flag) => flag !== 'default');
      const parts = text.split(',').map((part) => part.trim().toLowerCase());
      for (const part of parts) {
        if (part === 'default') continue;
        const [flag, setting, extra] = part.split('=');
        if (
          extra !== undefined ||
          flag === undefined ||
          !flags.includes(flag) ||
          !['on', 'off', 'default'].includes(setting ?? '')
        ) {
          return {
            rule: 'allowed',
            problem: `${shown(part)} is not a flag=on|off|default of its flags`,
          };
        }
      }
      return { value: parts.join(',') };
    }
    case 'string': {
      const text = checkText(value);
      if (typeof text !== 'string') return text;
      return { value: text };
    }
  }
}

/** Checks `values` (names as given) against `catalog`: the normalized values and every error. */
export function validateConfiguration(
  catalog: ConfigurationCatalog,
  values: Record<string, unknown>,
): ConfigurationCheck {
  const errors: ConfigurationError[] = [];
  const normalized: ConfigurationValues = {};
  const entries = Object.entries(values);
  const fail = (name: string, rule: ConfigurationRule, problem: string) =>
    errors.push({ name, rule, message: `${name}: ${problem}` });
  if (entries.length > MAX_CONFIGURATION_VALUES) {
    fail(
      '(group)',
      'count',
      `${entries.length} values are more than the ${MAX_CONFIGURATION_VALUES} a group may hold`,
    );
  }
  for (const [given, value] of entries) {
    if (!NAME.test(given)) {
      fail(shown(given), 'name', 'is not a parameter name');
      continue;
    }
    const name = canonicalParameterName(given);
    const excluded = catalog.excludedByName.get(name);
    if (excluded !== undefined) {
      fail(name, 'excluded', `cannot be set in a configuration group (${excluded})`);
      continue;
    }
    const parameter = catalog.byName.get(name);
    if (!parameter) {
      fail(name, 'unknown', `is not a parameter of ${catalog.datastore} ${catalog.version}`);
      continue;
    }
    if (Object.hasOwn(normalized, name)) {
      fail(name, 'duplicate', 'is given twice');
      continue;
    }
    const checked = checkParameterValue(parameter, value);
    if ('rule' in checked) fail(name, checked.rule, checked.problem);
    else normalized[name] = checked.value;
  }
  return { values: normalized, errors };
}
