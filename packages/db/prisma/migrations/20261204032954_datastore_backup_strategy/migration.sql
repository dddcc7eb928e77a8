-- CreateEnum
CREATE TYPE "BackupStrategy" AS ENUM ('PHYSICAL', 'LOGICAL');

-- AlterTable
ALTER TABLE "datastore_versions" ADD COLUMN     "backupStrategy" "BackupStrategy" NOT NULL DEFAULT 'PHYSICAL';
