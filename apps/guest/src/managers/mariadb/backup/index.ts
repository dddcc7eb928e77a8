// Backups and restores of the mariadb manager, loaded on first use (a split chunk of the
// guest's bundle): an idle guest never pays for them. What is not MariaDB's (chunks, their
// sealing, the manifest, the object store, fetch-and-verify, follow) is src/backup/'s.
export { startBackup, type BackupRun } from './create-backup';
export { VerifiedRestore, type RestoreContext } from './restore';
export { makeWorkDir, type BackupContext } from './backup-context';
export { takeInterruptedBackup } from '../../../backup/running-marker';
export { findBackupTools, type FindBackupTools } from './tools';
