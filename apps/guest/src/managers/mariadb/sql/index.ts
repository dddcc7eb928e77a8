/**
 * SQL administration of the server (Trove's MySqlAdmin): the guest's account, securing the
 * fresh install, databases, users, grants and root. Identifiers are re-checked with the
 * contract schemas and quoted; account names, hosts and password hashes are always
 * parameters. Passwords reach the server only as their mysql_native_password hash
 * (`IDENTIFIED BY PASSWORD`): MariaDB writes account statements to the binary log as they
 * were sent, so a clear password would sit in the binlog (and in backups and replicas).
 */
export { ensureAdminAccount } from './admin-account';
export { listAccess, grantAccess, revokeAccess } from './access';
export { createDatabase, deleteDatabase, listDatabases } from './databases';
export { nativePasswordHash, querySecret } from './password-hash';
export { disableRoot, enableRoot, secureAccounts } from './root';
export { readServerVersion } from './server-version';
export { createUser, deleteUser, listUsers, updateUser, type UserToCreate } from './users';
