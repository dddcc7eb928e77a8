-- AlterTable
ALTER TABLE "instance_events" ADD COLUMN     "actor" TEXT NOT NULL DEFAULT 'system',
ADD COLUMN     "details" JSONB;

-- CreateIndex
CREATE INDEX "audit_events_resourceId_createdAt_idx" ON "audit_events"("resourceId", "createdAt");

-- The event timeline (issue 16): every change of an instance row, or of its backups' status,
-- that a tenant should see is recorded here, by the database, whichever process writes it (the
-- web app, the taskmanager, the conductor, the watchdog, a script). Nothing to remember at each
-- of the places that write a status. Who wrote it is read from the connection's
-- application_name (coffer-web, coffer-taskmanager, ...; @coffer/db createPrismaClient), and a
-- write that applies a guest's message (it moves the guest's order, lastEpoch/lastSeq) is the
-- guest's. The web app's timeline (apps/web/src/server/services/timeline) merges these with the
-- audit log, which names the user or API token behind each request.

-- Who caused a change: the guest (its report), else the process whose connection wrote it.
CREATE FUNCTION coffer_change_actor(is_guest_report BOOLEAN) RETURNS TEXT
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN is_guest_report THEN 'guest'
    WHEN current_setting('application_name', true) = 'coffer-web' THEN 'console'
    WHEN current_setting('application_name', true) IN ('coffer-taskmanager', 'coffer-conductor', 'coffer-watchdog')
      THEN substr(current_setting('application_name', true), 8)
    ELSE 'system'
  END
$$;

CREATE FUNCTION coffer_record_instance_change() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
  actor TEXT;
  other_name TEXT;
BEGIN
  IF TG_OP = 'INSERT' THEN
    actor := coffer_change_actor(false);
    IF NEW."replicaOfId" IS NOT NULL THEN
      SELECT name INTO other_name FROM instances WHERE id = NEW."replicaOfId";
      INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
      VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'replica_created',
        format('Created as a replica of %s', coalesce(other_name, NEW."replicaOfId"::text)), actor,
        jsonb_build_object('sourceId', NEW."replicaOfId"), clock_timestamp());
    ELSIF NEW."restoredFromBackupId" IS NOT NULL THEN
      SELECT name INTO other_name FROM backups WHERE id = NEW."restoredFromBackupId";
      INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
      VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'restore_started',
        format('Created from backup %s', coalesce(other_name, NEW."restoredFromBackupId"::text)), actor,
        jsonb_build_object('backupId', NEW."restoredFromBackupId"), clock_timestamp());
    ELSE
      INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
      VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'created',
        format('Created with a %s GB volume', NEW."volumeSizeGb"), actor, NULL, clock_timestamp());
    END IF;
    RETURN NULL;
  END IF;

  actor := coffer_change_actor(
    NEW."lastSeq" IS NOT NULL
    AND (NEW."lastEpoch", NEW."lastSeq") IS DISTINCT FROM (OLD."lastEpoch", OLD."lastSeq"));

  IF (NEW."taskStatus", NEW."serviceStatus") IS DISTINCT FROM (OLD."taskStatus", OLD."serviceStatus") THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'status_changed',
      format('Task %s → %s, server %s → %s', OLD."taskStatus", NEW."taskStatus", OLD."serviceStatus", NEW."serviceStatus"),
      actor,
      jsonb_build_object(
        'task', jsonb_build_object('from', OLD."taskStatus", 'to', NEW."taskStatus"),
        'service', jsonb_build_object('from', OLD."serviceStatus", 'to', NEW."serviceStatus")),
      clock_timestamp());
  END IF;

  IF NEW."faultMessage" IS DISTINCT FROM OLD."faultMessage" THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId",
      CASE WHEN NEW."faultMessage" IS NULL THEN 'fault_cleared' ELSE 'fault' END,
      CASE WHEN NEW."faultMessage" IS NULL THEN 'The fault was cleared' ELSE left(NEW."faultMessage", 1000) END,
      actor, jsonb_build_object('code', NEW."faultCode"), clock_timestamp());
  END IF;

  IF (NEW."flavorId", NEW."volumeSizeGb") IS DISTINCT FROM (OLD."flavorId", OLD."volumeSizeGb") THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'resized',
      concat_ws(', ',
        CASE WHEN NEW."flavorId" IS DISTINCT FROM OLD."flavorId" THEN format('Flavor %s → %s',
          (SELECT name FROM flavors WHERE id = OLD."flavorId"), (SELECT name FROM flavors WHERE id = NEW."flavorId")) END,
        CASE WHEN NEW."volumeSizeGb" IS DISTINCT FROM OLD."volumeSizeGb" THEN format('volume %s GB → %s GB',
          OLD."volumeSizeGb", NEW."volumeSizeGb") END),
      actor,
      jsonb_build_object(
        'flavorId', jsonb_build_object('from', OLD."flavorId", 'to', NEW."flavorId"),
        'volumeSizeGb', jsonb_build_object('from', OLD."volumeSizeGb", 'to', NEW."volumeSizeGb")),
      clock_timestamp());
  END IF;

  IF NEW."configurationGroupId" IS DISTINCT FROM OLD."configurationGroupId" THEN
    SELECT name INTO other_name FROM configuration_groups
      WHERE id = coalesce(NEW."configurationGroupId", OLD."configurationGroupId");
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'configuration_changed',
      CASE WHEN NEW."configurationGroupId" IS NULL THEN format('Configuration group %s detached', other_name)
        ELSE format('Configuration group %s attached', other_name) END,
      actor,
      jsonb_build_object('groupId', jsonb_build_object('from', OLD."configurationGroupId", 'to', NEW."configurationGroupId")),
      clock_timestamp());
  END IF;

  IF NEW."configurationApply" IS DISTINCT FROM OLD."configurationApply" AND NEW."configurationApply" IS NOT NULL THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'configuration_applied',
      concat_ws(', ', 'Configuration applied',
        CASE WHEN jsonb_array_length(coalesce(NEW."configurationApply"->'pendingRestart', '[]')) > 0
          THEN format('%s value(s) wait for a restart', jsonb_array_length(NEW."configurationApply"->'pendingRestart')) END,
        CASE WHEN jsonb_array_length(coalesce(NEW."configurationApply"->'failed', '[]')) > 0
          THEN format('%s value(s) refused', jsonb_array_length(NEW."configurationApply"->'failed')) END),
      actor, NEW."configurationApply", clock_timestamp());
  END IF;

  IF NEW."replicaOfId" IS DISTINCT FROM OLD."replicaOfId" THEN
    SELECT name INTO other_name FROM instances WHERE id = NEW."replicaOfId";
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'replication_changed',
      CASE WHEN NEW."replicaOfId" IS NULL THEN 'No longer a replica'
        ELSE format('Now replicates from %s', coalesce(other_name, NEW."replicaOfId"::text)) END,
      actor,
      jsonb_build_object('sourceId', jsonb_build_object('from', OLD."replicaOfId", 'to', NEW."replicaOfId")),
      clock_timestamp());
  END IF;

  IF NEW."replicationState" IS DISTINCT FROM OLD."replicationState" THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'replication_changed',
      concat_ws(': ',
        format('Replication %s → %s', coalesce(OLD."replicationState"::text, 'none'), coalesce(NEW."replicationState"::text, 'none')),
        left(NEW."replicationError", 500)),
      actor,
      jsonb_build_object('state', jsonb_build_object('from', OLD."replicationState", 'to', NEW."replicationState")),
      clock_timestamp());
  END IF;

  IF NEW."deletedAt" IS NOT NULL AND OLD."deletedAt" IS NULL THEN
    INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
    VALUES (gen_random_uuid(), NEW.id, NEW."projectId", 'deleted', 'Deleted', actor, NULL, clock_timestamp());
  END IF;
  RETURN NULL;
END
$$;

-- Heartbeats update every instance every few seconds: the trigger runs only when a column it
-- records changed.
CREATE TRIGGER instances_record_change
AFTER UPDATE ON instances
FOR EACH ROW
WHEN (
  (NEW."taskStatus", NEW."serviceStatus", NEW."faultMessage", NEW."flavorId", NEW."volumeSizeGb",
   NEW."configurationGroupId", NEW."replicaOfId", NEW."replicationState", NEW."deletedAt")
  IS DISTINCT FROM
  (OLD."taskStatus", OLD."serviceStatus", OLD."faultMessage", OLD."flavorId", OLD."volumeSizeGb",
   OLD."configurationGroupId", OLD."replicaOfId", OLD."replicationState", OLD."deletedAt")
  OR NEW."configurationApply" IS DISTINCT FROM OLD."configurationApply")
EXECUTE FUNCTION coffer_record_instance_change();

CREATE TRIGGER instances_record_create
AFTER INSERT ON instances
FOR EACH ROW
EXECUTE FUNCTION coffer_record_instance_change();

-- A backup started, completed or failed: an event of its instance (while that instance exists:
-- a backup outlives its instance, the timeline does not).
CREATE FUNCTION coffer_record_backup_change() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
  kind TEXT;
  message TEXT;
BEGIN
  IF TG_OP = 'INSERT' THEN
    kind := 'backup_started';
    message := format('%s backup %s started%s', initcap(NEW.type::text), NEW.name,
      CASE WHEN NEW."isScheduled" THEN ' (scheduled)' ELSE '' END);
  ELSIF NEW.status = 'COMPLETED' THEN
    kind := 'backup_completed';
    message := format('Backup %s completed (%s bytes stored)', NEW.name, coalesce(NEW."sizeBytes", 0));
  ELSIF NEW.status = 'FAILED' THEN
    kind := 'backup_failed';
    message := concat_ws(': ', format('Backup %s failed', NEW.name), left(NEW."faultMessage", 900));
  ELSIF NEW.status = 'DELETING' THEN
    kind := 'backup_deleted';
    message := format('Backup %s is being deleted', NEW.name);
  ELSE
    RETURN NULL;
  END IF;
  INSERT INTO instance_events (id, "instanceId", "projectId", kind, message, actor, details, "createdAt")
  SELECT gen_random_uuid(), i.id, i."projectId", kind, message, coffer_change_actor(false),
    jsonb_build_object('backupId', NEW.id, 'type', NEW.type, 'isScheduled', NEW."isScheduled"),
    clock_timestamp()
  FROM instances i WHERE i.id = NEW."instanceId";
  RETURN NULL;
END
$$;

CREATE TRIGGER backups_record_create
AFTER INSERT ON backups
FOR EACH ROW
EXECUTE FUNCTION coffer_record_backup_change();

CREATE TRIGGER backups_record_status
AFTER UPDATE OF status ON backups
FOR EACH ROW
WHEN (NEW.status IS DISTINCT FROM OLD.status)
EXECUTE FUNCTION coffer_record_backup_change();
