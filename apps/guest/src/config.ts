import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import {
  GUEST_AGENT_CONFIG_FILE,
  GUEST_INFO_FILE,
  guestAgentConfigSchema,
  guestInfoSchema,
  type GuestAgentConfig,
  type GuestInfo,
} from '@coffer/contracts';
import { z } from 'zod';

/** The two files injected at create time (Trove's /etc/trove/conf.d), parsed; the guest refuses to start without them. */
export interface GuestConfig {
  configDir: string;
  info: GuestInfo;
  agent: GuestAgentConfig;
  /** Something an operator should know (e.g. the agent config is readable by others). */
  warnings: string[];
}

export class GuestConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestConfigError';
  }
}

function readJsonFile<T extends z.ZodType>(path: string, schema: T): z.infer<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GuestConfigError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new GuestConfigError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new GuestConfigError(
      `${path} is not a valid guest config:\n${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}

export function loadGuestConfig(configDirArgument: string): GuestConfig {
  const configDir = resolve(configDirArgument);
  const info = readJsonFile(join(configDir, GUEST_INFO_FILE), guestInfoSchema);
  const agentPath = join(configDir, GUEST_AGENT_CONFIG_FILE);
  const agent = readJsonFile(agentPath, guestAgentConfigSchema);
  const warnings: string[] = [];
  if ((statSync(agentPath).mode & 0o077) !== 0)
    warnings.push(`${agentPath} is readable by others; it should be mode 0600`);
  // What a datastore needs of these paths (a socket that fits…) its manager checks.
  return { configDir, info, agent, warnings };
}
