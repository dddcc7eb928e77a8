-- CreateEnum
CREATE TYPE "BackupType" AS ENUM ('FULL', 'INCREMENTAL', 'LOGICAL');

-- CreateEnum
CREATE TYPE "BackupStatus" AS ENUM ('NEW', 'BUILDING', 'COMPLETED', 'FAILED', 'DELETING');

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "restoredFromBackupId" UUID;

-- CreateTable
CREATE TABLE "backups" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "instanceName" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "BackupType" NOT NULL,
    "status" "BackupStatus" NOT NULL DEFAULT 'NEW',
    "parentId" UUID,
    "datastoreVersionId" UUID NOT NULL,
    "isScheduled" BOOLEAN NOT NULL DEFAULT false,
    "storeKind" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "progress" INTEGER NOT NULL DEFAULT 0,
    "sizeBytes" BIGINT,
    "rawSizeBytes" BIGINT,
    "chunkCount" INTEGER,
    "manifestSha256" TEXT,
    "lsnFrom" TEXT,
    "lsnTo" TEXT,
    "lsnLast" TEXT,
    "binlogFile" TEXT,
    "binlogPosition" BIGINT,
    "gtidPosition" TEXT,
    "serverVersion" TEXT,
    "faultMessage" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "backups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "backup_schedules" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "isEnabled" BOOLEAN NOT NULL DEFAULT true,
    "fullType" "BackupType" NOT NULL DEFAULT 'FULL',
    "fullIntervalMinutes" INTEGER NOT NULL,
    "incrementalIntervalMinutes" INTEGER,
    "retainFullCount" INTEGER NOT NULL,
    "nextFullAt" TIMESTAMP(3) NOT NULL,
    "nextIncrementalAt" TIMESTAMP(3),
    "lastRunAt" TIMESTAMP(3),
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "backup_schedules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "backups_projectId_createdAt_idx" ON "backups"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "backups_instanceId_createdAt_idx" ON "backups"("instanceId", "createdAt");

-- CreateIndex
CREATE INDEX "backups_status_idx" ON "backups"("status");

-- CreateIndex
CREATE UNIQUE INDEX "backup_schedules_instanceId_key" ON "backup_schedules"("instanceId");

-- CreateIndex
CREATE INDEX "backup_schedules_isEnabled_nextFullAt_idx" ON "backup_schedules"("isEnabled", "nextFullAt");

-- AddForeignKey
ALTER TABLE "backups" ADD CONSTRAINT "backups_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "projects"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backups" ADD CONSTRAINT "backups_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "backups"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backups" ADD CONSTRAINT "backups_datastoreVersionId_fkey" FOREIGN KEY ("datastoreVersionId") REFERENCES "datastore_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backup_schedules" ADD CONSTRAINT "backup_schedules_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "backup_schedules" ADD CONSTRAINT "backup_schedules_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;
