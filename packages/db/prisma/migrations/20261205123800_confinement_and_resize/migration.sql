-- AlterTable
ALTER TABLE "flavors" ADD COLUMN     "maxVolumeGb" INTEGER NOT NULL DEFAULT 100;

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "isPublic" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "resizeState" JSONB,
ADD COLUMN     "volumeTotalBytes" BIGINT,
ADD COLUMN     "volumeUsedBytes" BIGINT;
