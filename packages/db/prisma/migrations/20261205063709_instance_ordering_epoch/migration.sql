-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "lastEpoch" BIGINT;
