-- CreateTable
CREATE TABLE "instance_events" (
    "id" UUID NOT NULL,
    "instanceId" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "guestSentAt" TIMESTAMP(3),
    "guestSeq" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instance_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "instance_events_instanceId_createdAt_idx" ON "instance_events"("instanceId", "createdAt");

-- CreateIndex
CREATE INDEX "instance_events_projectId_createdAt_idx" ON "instance_events"("projectId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "instance_events_instanceId_guestSentAt_guestSeq_key" ON "instance_events"("instanceId", "guestSentAt", "guestSeq");

-- AddForeignKey
ALTER TABLE "instance_events" ADD CONSTRAINT "instance_events_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;
