-- The backup row stops being MariaDB's: what the datastore's manager recorded goes into
-- "details" (the manifest's `details`, read by the datastore's contracts module) and where an
-- incremental continues from into "incrementalBase". Every backup so far is MariaDB's: its
-- LSNs, binlog position and GTID become MariaDB's details, its lsnTo the base. Then the
-- old columns go.

-- AlterTable
ALTER TABLE "backups" ADD COLUMN "details" JSONB,
ADD COLUMN "incrementalBase" TEXT;

-- Move the values (rows that recorded nothing keep null details).
UPDATE "backups"
SET "details" = jsonb_build_object(
      'lsn', CASE WHEN "lsnTo" IS NULL THEN NULL
                  ELSE jsonb_build_object('from', "lsnFrom", 'to', "lsnTo", 'last', "lsnLast") END,
      'binlog', CASE WHEN "binlogFile" IS NULL OR "binlogPosition" IS NULL THEN NULL
                     ELSE jsonb_build_object('file', "binlogFile", 'position', "binlogPosition") END,
      'gtid', "gtidPosition"),
    "incrementalBase" = "lsnTo"
WHERE "manifestSha256" IS NOT NULL
   OR "lsnTo" IS NOT NULL
   OR "binlogFile" IS NOT NULL
   OR "gtidPosition" IS NOT NULL;

-- AlterTable
ALTER TABLE "backups" DROP COLUMN "binlogFile",
DROP COLUMN "binlogPosition",
DROP COLUMN "gtidPosition",
DROP COLUMN "lsnFrom",
DROP COLUMN "lsnLast",
DROP COLUMN "lsnTo";
