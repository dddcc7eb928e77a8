import { isOpenStackError } from './errors';
import { cinder } from './services';
import type { OpenStackSession } from './session';
import { waitFor, type Look, type WaitOptions } from './wait';

/**
 * Cinder volumes at the session's volume microversion (3.59, `MICROVERSIONS.volume`): create,
 * show, list (by name, status, metadata), extend (in-use too: 3.42+), delete, and waiting for a
 * status. Attaching goes through Nova (`attachVolume` in nova.ts), as Trove does.
 */

export type VolumeStatus =
  | 'creating'
  | 'available'
  | 'reserved'
  | 'attaching'
  | 'detaching'
  | 'in-use'
  | 'maintenance'
  | 'deleting'
  | 'awaiting-transfer'
  | 'error'
  | 'error_deleting'
  | 'backing-up'
  | 'restoring-backup'
  | 'error_backing-up'
  | 'error_restoring'
  | 'error_extending'
  | 'downloading'
  | 'uploading'
  | 'retyping'
  | 'extending';

export interface VolumeAttachmentInfo {
  attachmentId: string;
  serverId: string;
  device?: string;
}

export interface Volume {
  id: string;
  name: string;
  status: VolumeStatus;
  /** GB. */
  size: number;
  volumeType?: string;
  metadata: Record<string, string>;
  attachments: VolumeAttachmentInfo[];
  availabilityZone?: string;
  description?: string | null;
  createdAt: string;
  updatedAt?: string | null;
}

export interface CreateVolumeRequest {
  /** GB, a whole number. */
  size: number;
  name: string;
  description?: string;
  volumeType?: string;
  metadata?: Record<string, string>;
  availabilityZone?: string;
}

interface RawVolume {
  id: string;
  name: string | null;
  status: VolumeStatus;
  size: number;
  volume_type?: string;
  metadata?: Record<string, string>;
  attachments?: { attachment_id: string; server_id: string; device?: string }[];
  availability_zone?: string;
  description?: string | null;
  created_at: string;
  updated_at?: string | null;
}

function toVolume(raw: RawVolume): Volume {
  return {
    id: raw.id,
    name: raw.name ?? '',
    status: raw.status,
    size: raw.size,
    volumeType: raw.volume_type,
    metadata: raw.metadata ?? {},
    attachments: (raw.attachments ?? []).map((a) => ({
      attachmentId: a.attachment_id,
      serverId: a.server_id,
      device: a.device,
    })),
    availabilityZone: raw.availability_zone,
    description: raw.description,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
  };
}

/** Asks Cinder for a volume; it is `creating` at first (`waitForVolume(…, 'available')`). */
export async function createVolume(
  session: OpenStackSession,
  request: CreateVolumeRequest,
): Promise<Volume> {
  const { volume } = await cinder(session).post<{ volume: RawVolume }>('/volumes', {
    volume: {
      size: request.size,
      name: request.name,
      description: request.description,
      volume_type: request.volumeType,
      metadata: request.metadata,
      availability_zone: request.availabilityZone,
    },
  });
  return toVolume(volume);
}

/** The volume, or null when Cinder has none by that id. */
export async function getVolume(session: OpenStackSession, id: string): Promise<Volume | null> {
  try {
    const { volume } = await cinder(session).get<{ volume: RawVolume }>(
      `/volumes/${encodeURIComponent(id)}`,
      { notFoundExpected: true },
    );
    return toVolume(volume);
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}

export interface ListVolumesFilter {
  name?: string;
  status?: VolumeStatus;
  /** Volumes whose metadata has every one of these pairs. */
  metadata?: Record<string, string>;
  /** Every project's volumes (admin only). */
  allProjects?: boolean;
}

/** Volumes with details, every page of them. */
export async function listVolumes(
  session: OpenStackSession,
  filter: ListVolumesFilter = {},
): Promise<Volume[]> {
  const volumes: Volume[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await cinder(session).get<{
      volumes: RawVolume[];
      volumes_links?: { rel: string }[];
    }>('/volumes/detail', {
      query: {
        name: filter.name,
        status: filter.status,
        // Cinder reads this filter as a Python dict literal, which JSON is
        metadata: filter.metadata ? JSON.stringify(filter.metadata) : undefined,
        all_tenants: filter.allProjects ? '1' : undefined,
        marker,
      },
    });
    volumes.push(...page.volumes.map(toVolume));
    const last = page.volumes.at(-1);
    if (!last || !page.volumes_links?.some((l) => l.rel === 'next')) return volumes;
    marker = last.id;
  }
}

/**
 * Grows the volume to `newSize` GB (Cinder never shrinks: a smaller or equal size is INVALID).
 * Status `extending`, then back to `available` or `in-use`: `waitForVolume` with `size`.
 */
export async function extendVolume(
  session: OpenStackSession,
  id: string,
  newSize: number,
): Promise<void> {
  await cinder(session).post(`/volumes/${encodeURIComponent(id)}/action`, {
    'os-extend': { new_size: newSize },
  });
}

/** Replaces (`replace`) or merges the volume's metadata. */
export async function setVolumeMetadata(
  session: OpenStackSession,
  id: string,
  metadata: Record<string, string>,
  mode: 'merge' | 'replace' = 'merge',
): Promise<Record<string, string>> {
  const path = `/volumes/${encodeURIComponent(id)}/metadata`;
  const answer =
    mode === 'replace'
      ? await cinder(session).put<{ metadata: Record<string, string> }>(path, { metadata })
      : await cinder(session).post<{ metadata: Record<string, string> }>(path, { metadata });
  return answer.metadata;
}

/**
 * Deletes the volume (it must not be attached: Cinder answers INVALID); true when it existed.
 * Cinder deletes it asynchronously: `waitForVolumeDeleted`.
 */
export async function deleteVolume(session: OpenStackSession, id: string): Promise<boolean> {
  try {
    await cinder(session).delete(`/volumes/${encodeURIComponent(id)}`, { notFoundExpected: true });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

/**
 * Deletes one of a volume's attachments (Cinder's attachments API, 3.27+), which detaches the
 * volume on Cinder's side. For an attachment Nova left behind for a server it has deleted (a
 * server deleted while it was still being built); true when it existed.
 */
export async function deleteAttachment(
  session: OpenStackSession,
  attachmentId: string,
): Promise<boolean> {
  try {
    await cinder(session).delete(`/attachments/${encodeURIComponent(attachmentId)}`, {
      notFoundExpected: true,
    });
    return true;
  } catch (error) {
    if (isOpenStackError(error, 'NOT_FOUND')) return false;
    throw error;
  }
}

/**
 * Every attachment of the volume in Cinder's attachments API (3.27+), whatever its state: a
 * `reserved` one (Nova reserved the volume for a server, then never attached it) is not in
 * the volume's own `attachments`, yet holds the volume `reserved`.
 */
export async function listAttachmentsOfVolume(
  session: OpenStackSession,
  volumeId: string,
): Promise<(VolumeAttachmentInfo & { status: string })[]> {
  const { attachments } = await cinder(session).get<{
    attachments: { id: string; instance: string | null; status: string }[];
  }>('/attachments', { query: { volume_id: volumeId } });
  return attachments.map((a) => ({
    attachmentId: a.id,
    serverId: a.instance ?? '',
    status: a.status,
  }));
}

/**
 * Cinder's own account of what failed on a volume: its newest user message (`/messages`,
 * 3.3+), e.g. "create volume:Could not find any available weighted backend". Undefined when
 * there is none or the messages cannot be read.
 */
export async function volumeFault(
  session: OpenStackSession,
  id: string,
): Promise<string | undefined> {
  try {
    const { messages } = await cinder(session).get<{
      messages: { user_message: string; created_at: string; request_id?: string }[];
    }>('/messages', { query: { resource_uuid: id, sort: 'created_at:desc', limit: 1 } });
    const newest = messages[0];
    return newest
      ? `${newest.user_message}${newest.request_id ? ` (request ${newest.request_id})` : ''}`
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the volume has `status` (and `size`, when given). A volume that goes to an error
 * status fails the wait with Cinder's own message about it; one that disappears as GONE.
 */
export async function waitForVolume(
  session: OpenStackSession,
  id: string,
  status: VolumeStatus,
  options: WaitOptions & { size?: number } = {},
): Promise<Volume> {
  return waitFor(
    { resource: 'volume', id, wanted: options.size ? `${status} at ${options.size} GB` : status },
    async (): Promise<Look<Volume>> => {
      const volume = await getVolume(session, id);
      if (!volume) return { done: false, failed: true, gone: true };
      const state = `${volume.status}, ${volume.size} GB`;
      if (volume.status === status && (options.size === undefined || volume.size === options.size))
        return { done: true, value: volume };
      if (volume.status.startsWith('error') && !status.startsWith('error'))
        return {
          done: false,
          failed: true,
          state,
          fault: (await volumeFault(session, id)) ?? 'Cinder recorded no message',
        };
      return { done: false, state };
    },
    options,
  );
}

/** Waits until Cinder has no volume `id` any more (error_deleting fails with Cinder's message). */
export async function waitForVolumeDeleted(
  session: OpenStackSession,
  id: string,
  options: WaitOptions = {},
): Promise<void> {
  await waitFor(
    { resource: 'volume', id, wanted: 'deleted' },
    async (): Promise<Look<void>> => {
      const volume = await getVolume(session, id);
      if (!volume) return { done: true, value: undefined };
      if (volume.status === 'error_deleting')
        return {
          done: false,
          failed: true,
          state: volume.status,
          fault: await volumeFault(session, id),
        };
      return { done: false, state: volume.status };
    },
    options,
  );
}
