import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';

/**
 * dist/guest.mjs, what `node <GUEST_NODE_FLAGS> guest.mjs --config-dir <dir>` runs: loads the
 * agent bundle (agent-bundle.ts as one CommonJS file, chunks/agent-<content hash>.cjs) with
 * V8's code cache beside it, so that a guest's start does not parse and compile the ~4 MB of
 * the bundle again (Node 20 has no compile cache for modules; the cache takes about a third
 * off a guest's start-up CPU). The cache:
 *
 * - is named after the bundle (whose name carries its content's hash) and after what V8 checks
 *   besides the source (Node's version, the architecture, Node's flags), so a cache never
 *   meets another bundle, and guests run with other flags keep caches of their own;
 * - is made by the build (`guest.mjs --make-code-cache`, with GUEST_NODE_FLAGS), after every
 *   module a guest evaluates at start was evaluated (agent-bundle.ts, loadAgentModules);
 * - when it is missing, or V8 refuses it (another Node copied into a VM image, other flags),
 *   the guest runs without it and writes one itself a while after its start (a temporary file
 *   renamed; nothing is written where the folder is read-only, and nothing else changes).
 *
 * Imports only Node's built-ins: this file is the bundle's entry, built on its own.
 */

/** The agent bundle, relative to this file: set by scripts/build.mjs. */
declare const COFFER_AGENT_BUNDLE: string;

interface AgentBundle {
  startGuest(): Promise<void>;
  loadAgentModules(): Promise<void>;
}

/** After how long a guest that ran without a usable cache writes one. */
const WRITE_CACHE_AFTER_MS = 30_000;

const agentPath = fileURLToPath(new URL(COFFER_AGENT_BUNDLE, import.meta.url));

/** FNV-1a (32 bits) of what V8 checks a code cache against, besides the source itself. */
function runtimeKey(): string {
  let hash = 0x811c9dc5;
  for (const char of [process.version, process.arch, ...process.execArgv].join('\0')) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const cachePath = `${agentPath}.${runtimeKey()}.cache`;

type CacheState = 'accepted' | 'rejected' | 'missing';

function loadAgent(): { agent: AgentBundle; script: Script; cache: CacheState } {
  const source = readFileSync(agentPath, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    // An import() in the bundle (none runs in a guest today) goes to Node's own loader.
    {
      filename: agentPath,
      cachedData,
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    },
  );
  const module = { exports: {} as AgentBundle };
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    module.exports,
    module.exports,
    createRequire(agentPath),
    module,
    agentPath,
    dirname(agentPath),
  );
  const cache: CacheState =
    cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { agent: module.exports, script, cache };
}

function writeCache(script: Script): void {
  const temporary = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cachePath);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

if (process.argv[2] === '--make-code-cache') {
  // The build's step (and an operator's, e.g. in a VM image with another Node): what the cache
  // in place was, then a new one written.
  const { agent, script, cache } = loadAgent();
  await agent.loadAgentModules();
  writeCache(script);
  process.stdout.write(`${cachePath} (the cache in place: ${cache})\n`);
} else {
  const { agent, script, cache } = loadAgent();
  if (cache !== 'accepted') {
    setTimeout(() => {
      try {
        writeCache(script);
      } catch {
        // A read-only folder (a VM image): the next start runs without the cache again.
      }
    }, WRITE_CACHE_AFTER_MS).unref();
  }
  void agent.startGuest();
}
