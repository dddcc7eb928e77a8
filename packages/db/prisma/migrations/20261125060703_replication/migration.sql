-- CreateEnum
CREATE TYPE "ReplicationState" AS ENUM ('REPLICATING', 'CONNECTING', 'STOPPED', 'BROKEN');

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "replicaOfId" UUID,
ADD COLUMN     "replicationError" TEXT,
ADD COLUMN     "replicationLagSeconds" INTEGER,
ADD COLUMN     "replicationState" "ReplicationState",
ADD COLUMN     "replicationStatus" JSONB;

-- CreateIndex
CREATE INDEX "instances_replicaOfId_idx" ON "instances"("replicaOfId");

-- AddForeignKey
ALTER TABLE "instances" ADD CONSTRAINT "instances_replicaOfId_fkey" FOREIGN KEY ("replicaOfId") REFERENCES "instances"("id") ON DELETE SET NULL ON UPDATE CASCADE;
