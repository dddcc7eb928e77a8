-- CreateTable
CREATE TABLE "instance_metrics" (
    "instanceId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "cpuPercent" REAL,
    "memoryBytes" BIGINT,
    "guestCpuPercent" REAL,
    "guestMemoryBytes" BIGINT,
    "connections" INTEGER,
    "maxUsedConnections" INTEGER,
    "abortedConnectsPerSec" REAL,
    "queriesPerSec" REAL,
    "slowQueriesPerSec" REAL,
    "bufferPoolHitRatio" REAL,
    "dirtyPages" INTEGER,
    "rowsReadPerSec" REAL,
    "rowsWrittenPerSec" REAL,
    "replicationLagSeconds" INTEGER,
    "volumeUsedBytes" BIGINT,
    "volumeTotalBytes" BIGINT,
    "binlogBytes" BIGINT,
    "maxConnections" INTEGER,

    CONSTRAINT "instance_metrics_pkey" PRIMARY KEY ("instanceId","at")
);

-- CreateTable
CREATE TABLE "instance_metrics_1m" (
    "instanceId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "cpuPercent" REAL,
    "cpuPercentMax" REAL,
    "memoryBytes" BIGINT,
    "guestCpuPercent" REAL,
    "guestMemoryBytes" BIGINT,
    "connections" REAL,
    "connectionsMax" INTEGER,
    "maxUsedConnections" INTEGER,
    "abortedConnectsPerSec" REAL,
    "queriesPerSec" REAL,
    "queriesPerSecMax" REAL,
    "slowQueriesPerSec" REAL,
    "bufferPoolHitRatio" REAL,
    "dirtyPages" REAL,
    "rowsReadPerSec" REAL,
    "rowsWrittenPerSec" REAL,
    "replicationLagSeconds" REAL,
    "replicationLagSecondsMax" INTEGER,
    "volumeUsedBytes" BIGINT,
    "volumeTotalBytes" BIGINT,
    "binlogBytes" BIGINT,
    "maxConnections" INTEGER,

    CONSTRAINT "instance_metrics_1m_pkey" PRIMARY KEY ("instanceId","bucket")
);

-- CreateTable
CREATE TABLE "instance_metrics_1h" (
    "instanceId" UUID NOT NULL,
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "samples" INTEGER NOT NULL,
    "cpuPercent" REAL,
    "cpuPercentMax" REAL,
    "memoryBytes" BIGINT,
    "guestCpuPercent" REAL,
    "guestMemoryBytes" BIGINT,
    "connections" REAL,
    "connectionsMax" INTEGER,
    "maxUsedConnections" INTEGER,
    "abortedConnectsPerSec" REAL,
    "queriesPerSec" REAL,
    "queriesPerSecMax" REAL,
    "slowQueriesPerSec" REAL,
    "bufferPoolHitRatio" REAL,
    "dirtyPages" REAL,
    "rowsReadPerSec" REAL,
    "rowsWrittenPerSec" REAL,
    "replicationLagSeconds" REAL,
    "replicationLagSecondsMax" INTEGER,
    "volumeUsedBytes" BIGINT,
    "volumeTotalBytes" BIGINT,
    "binlogBytes" BIGINT,
    "maxConnections" INTEGER,

    CONSTRAINT "instance_metrics_1h_pkey" PRIMARY KEY ("instanceId","bucket")
);
