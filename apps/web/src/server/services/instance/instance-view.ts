import 'server-only';

import { deriveDisplayStatus, displayStatusSchema, serviceStatusSchema, taskStatusSchema } from '@coffer/contracts';
import { z } from 'zod';

import { env } from '~/env';

/** The columns every instance read selects (explicit: no secret column ever leaves the server). */
export const instanceSelect = {
  id: true,
  projectId: true,
  name: true,
  volumeSizeGb: true,
  taskStatus: true,
  serviceStatus: true,
  faultMessage: true,
  restoredFromBackupId: true,
  host: true,
  port: true,
  guestVersion: true,
  lastHeartbeatAt: true,
  createdAt: true,
  updatedAt: true,
  flavor: { select: { id: true, name: true, vcpus: true, ramMb: true } },
  datastoreVersion: { select: { id: true, name: true, version: true, datastore: { select: { name: true } } } },
} as const;

export const instanceViewSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  status: displayStatusSchema,
  taskStatus: taskStatusSchema,
  serviceStatus: serviceStatusSchema,
  faultMessage: z.string().nullable(),
  /** The backup this instance was restored from, if it was. */
  restoredFromBackupId: z.string().nullable(),
  volumeSizeGb: z.number(),
  host: z.string().nullable(),
  port: z.number().nullable(),
  guestVersion: z.string().nullable(),
  lastHeartbeatAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  flavor: z.object({ id: z.string(), name: z.string(), vcpus: z.number(), ramMb: z.number() }),
  datastore: z.object({ name: z.string(), version: z.string(), versionName: z.string() }),
});
export type InstanceView = z.infer<typeof instanceViewSchema>;

interface InstanceRow {
  id: string;
  projectId: string;
  name: string;
  volumeSizeGb: number;
  taskStatus: z.infer<typeof taskStatusSchema>;
  serviceStatus: z.infer<typeof serviceStatusSchema>;
  faultMessage: string | null;
  restoredFromBackupId: string | null;
  host: string | null;
  port: number | null;
  guestVersion: string | null;
  lastHeartbeatAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  flavor: { id: string; name: string; vcpus: number; ramMb: number };
  datastoreVersion: { id: string; name: string; version: string; datastore: { name: string } };
}

/** A row as users see it: with the one derived status. */
export function toInstanceView(row: InstanceRow, now = new Date()): InstanceView {
  const { datastoreVersion, ...rest } = row;
  return {
    ...rest,
    status: deriveDisplayStatus({
      taskStatus: row.taskStatus,
      serviceStatus: row.serviceStatus,
      lastHeartbeatAt: row.lastHeartbeatAt,
      now,
      heartbeatExpirySeconds: env.COFFER_HEARTBEAT_EXPIRY_SECONDS,
    }),
    datastore: {
      name: datastoreVersion.datastore.name,
      version: datastoreVersion.version,
      versionName: datastoreVersion.name,
    },
  };
}
