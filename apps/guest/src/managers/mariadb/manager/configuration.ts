import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import {
  canonicalParameterName,
  checkParameterValue,
  findConfigurationCatalog,
  validateConfiguration,
  type CatalogParameter,
  type ConfigurationCatalog,
  type ConfigurationValue,
  type GuestResult,
} from '@coffer/contracts';
import { writeFileAtomic } from '@coffer/host';
import { type Connection } from 'mysql2/promise';

import { TenantFacingError } from '../../../errors';
import { type MethodParams } from '../../datastore-manager';
import { normalizeOverride } from '../my-cnf';
import { refuse } from '../sql/refusals';
import { describeError } from './describe-failure';
import { type AdminSession } from './admin-session';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/**
 * Configuration groups (issue 15), the guest's half: the values become the overrides at the
 * end of the server's config file (written atomically), dynamic ones are set at once with
 * SET GLOBAL, and static ones changed while the server runs wait for its restart: the
 * instance reports RESTART_REQUIRED until the server process that ran then is gone (a marker
 * holding its pid; any restart, the tenant's or the supervisor's, ends it).
 *
 * A value the server refuses is rolled back: the previous value stays in force and in the
 * file, and the result names it. The guest checks the values against its own copy of the
 * catalogue first: a name outside it, or a value outside its rule, refuses the whole call
 * and nothing changes.
 */

const OVERRIDES_HEADER = '# Overrides (configuration group)';
const MARKER_FILE = '.coffer-restart-required';

interface RestartMarker {
  pid: number;
  names: string[];
}

/** The config file split: what Coffer writes, and the override lines (option name → text). */
export function splitOverrides(myCnf: string): { base: string[]; overrides: Map<string, string> } {
  const lines = myCnf.replace(/\n+$/, '').split('\n');
  const at = lines.indexOf(OVERRIDES_HEADER);
  const base = at >= 0 ? lines.slice(0, at) : lines;
  while (base.length > 0 && base[base.length - 1]?.trim() === '') base.pop();
  const overrides = new Map<string, string>();
  if (at >= 0) {
    for (const line of lines.slice(at + 1)) {
      const match = /^([a-z0-9_]+)\s*=\s*(.*)$/.exec(line.trim());
      if (match?.[1] && match[2] !== undefined) overrides.set(match[1], match[2]);
    }
  }
  return { base, overrides };
}

/** The config file with `overrides` (option name → text) as its overrides section. */
export function joinOverrides(base: string[], overrides: Map<string, string>): string {
  const lines = [...base];
  if (overrides.size > 0) {
    lines.push('', OVERRIDES_HEADER);
    for (const [name, text] of overrides) lines.push(`${name} = ${text}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A value as the config file carries it. */
function configText(value: ConfigurationValue): string {
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF';
  return String(value);
}

/** A validated value as an SQL literal for SET GLOBAL. */
function sqlLiteral(
  connection: Connection,
  parameter: CatalogParameter,
  value: ConfigurationValue,
): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (parameter.type === 'integer' || parameter.type === 'float') {
    const text = String(value);
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`not a number: ${text}`);
    return text;
  }
  return connection.escape(String(value));
}

/** A text parameter given as empty: the server's own default (SET GLOBAL … = DEFAULT, no line in the file). */
export function isServerDefault(parameter: CatalogParameter, value: ConfigurationValue): boolean {
  return parameter.type === 'string' && value === '';
}

function optionOf(parameter: CatalogParameter): string {
  return parameter.option ?? parameter.name;
}

export class MariadbConfiguration {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
    private readonly session: AdminSession,
  ) {}

  private get markerPath(): string {
    return join(this.runtime.layout.volumeDir, MARKER_FILE);
  }

  private catalog(): ConfigurationCatalog {
    const { info } = this.runtime.options;
    const catalog = findConfigurationCatalog(info.datastoreManager, info.datastoreVersion);
    if (!catalog) {
      refuse({
        code: 'BAD_REQUEST',
        message: `Configuration groups are not available for ${info.datastoreManager} ${info.datastoreVersion}.`,
      });
    }
    return catalog;
  }

  private readMarker(): RestartMarker | null {
    try {
      const marker = JSON.parse(readFileSync(this.markerPath, 'utf8')) as RestartMarker;
      return typeof marker.pid === 'number' && Array.isArray(marker.names) ? marker : null;
    } catch {
      return null;
    }
  }

  /** The values that wait for a restart of the server running now (empty: none). */
  pendingRestart(): string[] {
    const marker = this.readMarker();
    if (!marker) return [];
    const pid = this.runtime.server.runningPid();
    if (pid === null || pid !== marker.pid) {
      // That server is gone: the one running now (or the next) reads the file.
      if (pid !== null) rmSync(this.markerPath, { force: true });
      return [];
    }
    return marker.names;
  }

  async apply(
    params: MethodParams<'apply_configuration'>,
  ): Promise<GuestResult<'apply_configuration'>> {
    const { server, layout, logger } = this.runtime;
    if (!this.state.isPrepared || !server.hasConfig()) {
      throw new TenantFacingError(
        'The configuration cannot be applied: the database server has not been prepared yet.',
      );
    }
    const catalog = this.catalog();
    const check = validateConfiguration(catalog, params.values);
    if (check.errors.length > 0) {
      refuse({ code: 'BAD_REQUEST', message: check.errors.map((e) => e.message).join('; ') });
    }
    const byOption = new Map(catalog.parameters.map((p) => [optionOf(p), p]));
    const previous = readFileSync(layout.myCnf, 'utf8');
    const { base, overrides: before } = splitOverrides(previous);

    // The wanted overrides, by option name, each through the config file's own gate.
    const wanted = new Map<
      string,
      { parameter: CatalogParameter; value: ConfigurationValue; text: string }
    >();
    for (const [name, value] of Object.entries(check.values)) {
      const parameter = catalog.byName.get(name);
      if (!parameter) continue;
      const [option, text] = normalizeOverride(optionOf(parameter), configText(value));
      wanted.set(option, { parameter, value, text });
    }

    const result: GuestResult<'apply_configuration'> = {
      applied: [],
      reset: [],
      pendingRestart: [],
      failed: [],
    };
    const runningPid = server.runningPid();
    const next = new Map<string, string>();
    const staticChanged: string[] = [];
    const sets: {
      option: string;
      parameter: CatalogParameter;
      value: ConfigurationValue | null;
    }[] = [];

    for (const [option, { parameter, value, text }] of wanted) {
      if (parameter.dynamic) sets.push({ option, parameter, value });
      else if ((before.get(option) ?? '') !== text) staticChanged.push(parameter.name);
      // An empty text value is the server's default: no line (the server refuses an empty engine or table name).
      if (!isServerDefault(parameter, value)) next.set(option, text);
    }
    for (const option of before.keys()) {
      if (wanted.has(option)) continue;
      const parameter = byOption.get(option);
      result.reset.push(parameter?.name ?? option);
      if (!parameter) continue;
      if (parameter.dynamic) sets.push({ option, parameter, value: null });
      else staticChanged.push(parameter.name);
    }

    if (runningPid !== null && sets.length > 0) {
      await this.session.run('Applying the configuration', async (connection) => {
        for (const { option, parameter, value } of sets) {
          const target = value ?? this.baseValue(base, parameter);
          const literal =
            target === null || isServerDefault(parameter, target)
              ? 'DEFAULT'
              : sqlLiteral(connection, parameter, target);
          try {
            // The name comes from the catalogue (lower-case letters, digits, underscores).
            await connection.query(`SET GLOBAL ${parameter.name} = ${literal}`);
            if (value !== null) result.applied.push(parameter.name);
          } catch (error) {
            const reason = describeError(error);
            logger.warn({ parameter: parameter.name, reason }, 'the server refused a value');
            result.failed.push({ name: parameter.name, reason });
            // Rolled back: the file keeps what it had (the server still runs with it).
            const old = before.get(option);
            if (old === undefined) next.delete(option);
            else next.set(option, old);
          }
        }
      });
    } else {
      for (const { parameter, value } of sets)
        if (value !== null) result.applied.push(parameter.name);
    }

    server.writeConfig(joinOverrides(base, next));
    if (runningPid !== null && staticChanged.length > 0) {
      const earlier = this.pendingRestart();
      const names = [...new Set([...earlier, ...staticChanged])].sort();
      writeFileAtomic(this.markerPath, JSON.stringify({ pid: runningPid, names }), 0o644);
    }
    result.pendingRestart = runningPid !== null ? this.pendingRestart() : [];
    logger.info(
      {
        applied: result.applied,
        reset: result.reset,
        pendingRestart: result.pendingRestart,
        failed: result.failed.map((failure) => failure.name),
      },
      'configuration applied',
    );
    return result;
  }

  /** Every catalogue parameter in force: its value now, its source, and whether it waits for a restart. */
  async effective(): Promise<GuestResult<'get_configuration'>> {
    const { layout } = this.runtime;
    const catalog = this.catalog();
    const { base, overrides } = splitOverrides(readFileSync(layout.myCnf, 'utf8'));
    const baseOptions = new Set(
      base.flatMap((line) => {
        const match = /^([A-Za-z0-9_-]+)\s*(=|$)/.exec(line.trim());
        return match?.[1] ? [canonicalParameterName(match[1])] : [];
      }),
    );
    const pending = new Set(this.pendingRestart());
    const values = await this.session.run('Reading the configuration', async (connection) => {
      const [rows] = await connection.query(
        'SELECT LOWER(VARIABLE_NAME) AS name, GLOBAL_VALUE AS value FROM information_schema.SYSTEM_VARIABLES',
      );
      return new Map(
        (rows as { name: string; value: string | null }[]).map((row) => [row.name, row.value]),
      );
    });
    return {
      parameters: catalog.parameters.map((parameter) => {
        const option = optionOf(parameter);
        const source = overrides.has(option)
          ? ('group' as const)
          : baseOptions.has(option)
            ? parameter.source === 'flavor'
              ? ('flavor' as const)
              : ('coffer' as const)
            : ('default' as const);
        return {
          name: parameter.name,
          value: values.get(parameter.name) ?? null,
          source,
          dynamic: parameter.dynamic,
          isRestartPending: pending.has(parameter.name),
        };
      }),
    };
  }

  /** What Coffer's own part of the file sets for a parameter (sized from the flavor, say), or null: the server's default. */
  private baseValue(base: string[], parameter: CatalogParameter): ConfigurationValue | null {
    const option = optionOf(parameter);
    for (const line of base) {
      const match = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line.trim());
      if (!match?.[1] || match[2] === undefined) continue;
      if (canonicalParameterName(match[1]) !== option) continue;
      const checked = checkParameterValue(parameter, match[2].trim());
      return 'value' in checked ? checked.value : null;
    }
    return null;
  }
}
