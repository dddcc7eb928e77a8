// Backups and restores of the mariadb manager, loaded on first use (a split chunk of the
// guest's bundle): an idle guest never pays for them.
export { startBackup, type BackupRun } from './create-backup';
export { VerifiedRestore, type RestoreContext } from './restore';
export { takeInterruptedBackup, makeWorkDir, type BackupContext } from './backup-context';
export { findBackupTools, type FindBackupTools } from './tools';
