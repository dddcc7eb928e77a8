-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "configurationApply" JSONB,
ADD COLUMN     "configurationGroupId" UUID;

-- CreateTable
CREATE TABLE "configuration_groups" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "datastoreVersionId" UUID NOT NULL,
    "values" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "configuration_groups_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "configuration_groups_projectId_name_key" ON "configuration_groups"("projectId", "name");

-- CreateIndex
CREATE INDEX "instances_configurationGroupId_idx" ON "instances"("configurationGroupId");

-- AddForeignKey
ALTER TABLE "instances" ADD CONSTRAINT "instances_configurationGroupId_fkey" FOREIGN KEY ("configurationGroupId") REFERENCES "configuration_groups"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "configuration_groups" ADD CONSTRAINT "configuration_groups_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "projects"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "configuration_groups" ADD CONSTRAINT "configuration_groups_datastoreVersionId_fkey" FOREIGN KEY ("datastoreVersionId") REFERENCES "datastore_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
