// What a guest that is not root does with its database server, run by server-account.test.ts
// as an unprivileged system user: choose the account, install the datadir, start mariadbd,
// and reach it over the socket as the bootstrap user, as the guest's first connection does.
// Prints one JSON line: the account, the server's uid, and who the server says we are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { connectOverSocket } from '../src/managers/mariadb/admin-connection';
import { findMariadbBinaries } from '../src/managers/mariadb/binaries';
import { layoutOf } from '../src/managers/mariadb/layout';
import { chooseServerAccount } from '../src/managers/mariadb/server-account';
import { MariadbServer } from '../src/managers/mariadb/server-process';
import { createLogger } from '../src/logger';

const base = process.argv[2]!;
const layout = layoutOf(join(base, 'config'), {
  volumeDir: join(base, 'volume'),
  runDir: join(base, 'run'),
  logDir: join(base, 'log'),
  bindAddress: '127.0.0.1',
  port: 1,
});
const warnings: string[] = [];
const account = chooseServerAccount([layout.volumeDir, layout.runDir, layout.logDir], (message) =>
  warnings.push(message),
);
const path = process.env.PATH ?? '/usr/bin:/bin';
const server = new MariadbServer({
  layout,
  findBinaries: () => findMariadbBinaries({ path }),
  path,
  logger: createLogger('fatal'),
});
server.writeConfig(
  [
    '[mysqld]',
    `datadir=${layout.datadir}`,
    `socket=${layout.socket}`,
    `pid-file=${layout.pidFile}`,
    `tmpdir=${layout.tmpDir}`,
    `log-error=${layout.logError}`,
    'skip-networking',
    'innodb_buffer_pool_size=16M',
    '',
  ].join('\n'),
);
server.prepareRuntimeDirs(account);
try {
  await server.install(account);
  await server.start(account);
  const pid = server.runningPid()!;
  const serverUid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  const connection = await connectOverSocket(layout, account.bootstrapUser);
  const [rows] = await connection.query('SELECT CURRENT_USER() AS currentUser');
  await connection.end();
  const { currentUser } = (rows as { currentUser: string }[])[0]!;
  console.log(JSON.stringify({ account, warnings, serverUid, currentUser }));
} finally {
  await server.stop();
}
