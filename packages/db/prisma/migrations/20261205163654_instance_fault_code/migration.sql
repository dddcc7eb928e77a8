-- An instance's fault gets a code, so code recognises a fault by it and never by its text
-- (the conductor clears only a VOLUME_FULL fault once the volume has room again). The faults
-- stored so far that are a full volume's are those whose text begins as the guest words
-- them ("The volume is full"): they get their code; any other fault keeps none.

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "faultCode" TEXT;

-- Backfill
UPDATE "instances" SET "faultCode" = 'VOLUME_FULL' WHERE "faultMessage" LIKE 'The volume is full%';
