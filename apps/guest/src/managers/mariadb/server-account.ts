import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';

/**
 * Which OS account mariadbd runs as. As root (the local provider, or a VM's guest with
 * Trove's sudo) the server runs as `mysql` when that user can reach its directories, else
 * as root with a warning (a checkout under /root, say). Not as root, the server runs as the
 * guest's own user. The guest reaches the fresh server through the unix_socket account of
 * the OS user it runs as (root, or the account install-db makes for its own user).
 */
export interface ServerAccount {
  /** The `--user` the server is given; null when the guest is not root (the server runs as the guest's user). */
  runAs: string | null;
  /** Who must own the datadir and the run dir; null: leave ownership alone. */
  owner: { uid: number; gid: number } | null;
  /** The unix_socket account the guest uses before its own admin account exists. */
  bootstrapUser: string;
  installArgs: string[];
  serverArgs: string[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function readPasswdEntry(name: string): PasswdEntry | null {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [entryName, , uid, gid] = line.split(':');
      if (entryName === name && uid !== undefined && gid !== undefined)
        return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No passwd file: no such user.
  }
  return null;
}

function readGroupIds(user: PasswdEntry): Set<number> {
  const gids = new Set([user.gid]);
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [, , gid, members] = line.split(':');
      if (gid !== undefined && members?.split(',').includes(user.name)) gids.add(Number(gid));
    }
  } catch {
    // Primary group only.
  }
  return gids;
}

/** True when `user` may search every existing directory from / down to `dir`. */
export function canTraverse(user: PasswdEntry, dir: string): boolean {
  const gids = readGroupIds(user);
  const chain: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const path of chain) {
    if (!existsSync(path)) break; // We create the rest, and hand it over.
    const stat = statSync(path);
    const mode = stat.mode;
    const isSearchable =
      stat.uid === user.uid
        ? (mode & 0o100) !== 0
        : gids.has(stat.gid)
          ? (mode & 0o010) !== 0
          : (mode & 0o001) !== 0;
    if (!isSearchable) return false;
  }
  return true;
}

export function chooseServerAccount(
  dirs: string[],
  warn: (message: string) => void,
): ServerAccount {
  const me = userInfo();
  if (me.uid !== 0) {
    return {
      runAs: null,
      owner: null,
      bootstrapUser: me.username,
      installArgs: [`--auth-root-socket-user=${me.username}`],
      serverArgs: [],
    };
  }
  const mysql = readPasswdEntry('mysql');
  if (mysql && dirs.every((dir) => canTraverse(mysql, dir))) {
    return {
      runAs: 'mysql',
      owner: { uid: mysql.uid, gid: mysql.gid },
      bootstrapUser: 'root',
      installArgs: ['--user=mysql'],
      serverArgs: ['--user=mysql'],
    };
  }
  warn(
    mysql
      ? `user mysql cannot reach ${dirs.join(', ')}: running the database server as root`
      : 'there is no mysql user: running the database server as root',
  );
  return {
    runAs: 'root',
    owner: null,
    bootstrapUser: 'root',
    installArgs: ['--user=root'],
    serverArgs: ['--user=root'],
  };
}
