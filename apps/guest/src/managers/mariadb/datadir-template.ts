import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

import { type Logger } from 'pino';

import { readCmdline } from '@coffer/host';

/**
 * Pristine datadirs (issue 18's sub-second creates): `mariadb-install-db` costs 1-3 s of a
 * create, a copy of its result ~0.1 s. The first install of a given server build and format
 * runs the installer into a template, and every install after it copies the template.
 *
 * ```
 * <templateDir>/mariadb/
 *   <key>/data/            a datadir from mariadb-install-db, started once and shut down cleanly
 *   <key>/template.json    its key and every file's size (checked before each copy)
 *   .<key>.<pid>.<hex>.new a template being made by guest process <pid>
 * ```
 *
 * - **The key** is a hash of the server's and installer's files (path, size, mtime, inode: a
 *   package upgrade makes a new template and removes the old), the installer's arguments (the
 *   OS account the server runs as) and the my.cnf options that fix the datadir's format
 *   (page size, system tablespace, undo tablespaces, case of table names).
 * - **Settled, whole, small**: the installer's output is started once (no network, no binary
 *   log, the smallest redo log) and shut down cleanly before it becomes a template
 *   (server-process.ts): straight from the installer, a copy's Aria system tables pass for
 *   "moved" and mysql.proc reads as corrupt. With a 4 MiB redo log instead of the flavor's
 *   64 MiB or more a copy is ~21 MB, not ~82; each copy's first start grows the log to its
 *   own my.cnf size (allocated, not written: as mariadb-install-db leaves it).
 * - **Nothing shared afterwards** (datadir-template.integration.test.ts checks each): what
 *   identifies a server is not in the template but set per instance: `server_id` (my.cnf,
 *   from the instance id), `server_uid` (the server hashes it from its host and port at each
 *   start), the guest's admin account and its password (made by `prepare`), the tenant's
 *   databases and users, the binary log and GTID state (none in the template: it was settled
 *   without a binary log). InnoDB keeps no server UUID (MariaDB has no `server_uuid` or
 *   auto.cnf). The template's own accounts are `root@localhost` (unix_socket, no password),
 *   `mariadb.sys` (locked, no password) and `PUBLIC`, the same in every install of a build.
 *   One identifier is shared: Aria's UUID in aria_log_control. It only tells Aria whether a
 *   table file was made by this server (a differing one makes it zero-fill the table's LSNs
 *   at first open, which broke mysql.proc in a copy); it is neither shown to clients nor
 *   used by replication, and every bare `cp -a` of a datadir shares it the same way.
 * - **Crash-safe and concurrent**: a template is made in a `.new` dir and renamed into place
 *   only once whole; of two guests making the same one, the first rename wins and the other
 *   uses it. `.new` dirs of processes that are gone are removed at the next make.
 * - **Never fatal**: a template that cannot be made, read or copied is logged, and the caller
 *   installs the usual way; only the installer's own failure (a bad setting, a full disk) is
 *   the caller's, at once.
 */

/** The settings in my.cnf that shape the files mariadb-install-db writes. */
const FORMAT_OPTIONS = [
  'innodb_page_size',
  'innodb_data_file_path',
  'innodb_undo_tablespaces',
  'innodb_checksum_algorithm',
  'innodb_compression_algorithm',
  'lower_case_table_names',
  'character_set_server',
  'collation_server',
];
/** What a server's shutdown leaves that a new server should not start with (the buffer pool's page list). */
const PER_SERVER_FILES = /^ib_buffer_pool$/;
const KEY = /^[0-9a-f]{16}$/;
/**
 * What a template holds and how it was made; a change makes every existing template stale.
 * 2: settled by one start; 3: with a 4 MiB redo log (each copy's first start resizes it).
 */
const TEMPLATE_LAYOUT = 3;
const PARTIAL = /^\.([0-9a-f]{16})\.(\d+)\.[0-9a-f]{8}\.new$/;
const MANIFEST = 'template.json';

interface Manifest {
  key: string;
  madeAt: string;
  files: Record<string, number>;
}

export interface TemplateKeyInput {
  /** The server and installer binaries (their identity on disk is the version). */
  binaries: string[];
  installArgs: string[];
  /** The server's defaults file (its format options are read from it). */
  myCnfText: string;
}

/** The template's key: what makes two installs produce interchangeable datadirs. */
export function templateKeyOf({ binaries, installArgs, myCnfText }: TemplateKeyInput): string {
  const files = binaries.map((path) => {
    const stat = statSync(path);
    return [path, stat.size, Math.trunc(stat.mtimeMs), stat.ino];
  });
  return createHash('sha256')
    .update(
      JSON.stringify({
        layout: TEMPLATE_LAYOUT,
        files,
        installArgs,
        format: formatOptionsOf(myCnfText),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/** The format options a defaults file sets (`name=value` lines, `-` and `_` alike). */
export function formatOptionsOf(myCnfText: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const line of myCnfText.split('\n')) {
    const match = /^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const name = match[1]!.toLowerCase().replace(/-/g, '_');
    if (FORMAT_OPTIONS.includes(name)) found[name] = match[2]!;
  }
  return found;
}

/** The installer's own failure while making a template (ensure rethrows what it threw). */
class InstallerFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('the installer failed');
  }
}

export class DatadirTemplates {
  private readonly dir: string;

  constructor(
    templateDir: string,
    private readonly logger: Logger,
  ) {
    this.dir = join(templateDir, 'mariadb');
  }

  /**
   * The data dir of a whole template for `key`, made with `install(datadir)` (which must create
   * `datadir`) when there is none yet; null when none could be had (logged: install instead).
   */
  async ensure(key: string, install: (datadir: string) => Promise<void>): Promise<string | null> {
    if (!KEY.test(key)) throw new Error(`not a template key: ${key}`);
    const home = join(this.dir, key);
    try {
      if (existsSync(home)) {
        const problem = verify(home, key);
        if (problem === null) return join(home, 'data');
        this.logger.warn({ template: home, problem }, 'datadir template damaged: made again');
        rmSync(home, { recursive: true, force: true });
      }
      return await this.make(key, install);
    } catch (error) {
      // The installer itself failed: installing again without a template would fail the same way.
      if (error instanceof InstallerFailed) throw error.cause;
      this.logger.warn({ err: error, template: home }, 'datadir template unusable: installing');
      return null;
    }
  }

  /** Copies a template's data dir to `dest` (which must not exist), holes and all. */
  async copy(templateData: string, dest: string): Promise<void> {
    await new Promise<void>((resolveCopy, rejectCopy) => {
      execFile(
        'cp',
        ['-a', '--reflink=auto', '--', templateData, dest],
        { env: { PATH: '/usr/bin:/bin' }, timeout: 120_000 },
        (error, _stdout, stderr) =>
          error
            ? rejectCopy(
                new Error(`copying the datadir template failed: ${stderr.trim() || error.message}`),
              )
            : resolveCopy(),
      );
    });
  }

  private async make(key: string, install: (datadir: string) => Promise<void>): Promise<string> {
    // Searchable (not readable) by others: the installer's server may run as the mysql user.
    mkdirSync(this.dir, { recursive: true, mode: 0o711 });
    this.removeLeftovers();
    const partial = join(this.dir, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.new`);
    const home = join(this.dir, key);
    mkdirSync(partial, { mode: 0o711 });
    try {
      const data = join(partial, 'data');
      const startedAt = Date.now();
      await install(data).catch((error: unknown) => {
        throw new InstallerFailed(error);
      });
      for (const name of readdirSync(data)) {
        if (PER_SERVER_FILES.test(name)) rmSync(join(data, name), { force: true });
      }
      const manifest: Manifest = { key, madeAt: new Date().toISOString(), files: sizesOf(data) };
      writeFileSync(join(partial, MANIFEST), `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
      try {
        renameSync(partial, home);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Another guest made it meanwhile: use theirs.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        rmSync(partial, { recursive: true, force: true });
        const problem = verify(home, key);
        if (problem !== null)
          throw new Error(`the template made meanwhile is not whole: ${problem}`);
        return join(home, 'data');
      }
      this.logger.info({ template: home, ms: Date.now() - startedAt }, 'datadir template made');
      this.removeOtherKeys(key);
      return join(home, 'data');
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
  }

  /** `.new` dirs whose guest is gone (a crash while making one). */
  private removeLeftovers(): void {
    for (const name of readdirSync(this.dir)) {
      const partial = PARTIAL.exec(name);
      if (partial && readCmdline(Number(partial[2])) === null) {
        rmSync(join(this.dir, name), { recursive: true, force: true });
      }
    }
  }

  /** Templates of other builds or formats (a server upgrade): replaced by the new one. */
  private removeOtherKeys(key: string): void {
    for (const name of readdirSync(this.dir)) {
      if (KEY.test(name) && name !== key) {
        rmSync(join(this.dir, name), { recursive: true, force: true });
        this.logger.info({ template: join(this.dir, name) }, 'older datadir template removed');
      }
    }
  }
}

/** Null when the template at `home` is whole: its manifest's key, and every file at its size. */
function verify(home: string, key: string): string | null {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(home, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return 'no readable template.json';
  }
  if (manifest.key !== key) return `template.json names key ${String(manifest.key)}`;
  const entries = Object.entries(manifest.files ?? {});
  if (entries.length === 0) return 'template.json lists no files';
  for (const [path, size] of entries) {
    try {
      if (statSync(join(home, 'data', path)).size !== size) return `${path} changed size`;
    } catch {
      return `${path} is missing`;
    }
  }
  return null;
}

/** Every file under `root` by relative path, with its size. */
function sizesOf(root: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else sizes[relative(root, path)] = statSync(path).size;
    }
  };
  walk(root);
  return sizes;
}
