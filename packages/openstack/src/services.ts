import type { OpenStackSession, ServiceClient } from './session';

/**
 * The microversions Coffer speaks to each service. Nova 2.56: the last that accepts `personality`
 * (injected files; removed in 2.57), with tags (2.26) and user data shown to admins (2.3).
 * Cinder 3.59: volume listing with filters and sort; Debian 12's Zed serves up to 3.70.
 */
export const MICROVERSIONS = { compute: '2.56', volume: '3.59' } as const;

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

export interface Image {
  id: string;
  name: string;
  status: string;
  tags: string[];
  visibility: string;
}

export function nova(session: OpenStackSession): ServiceClient {
  return session.service('compute', { microversion: MICROVERSIONS.compute });
}

export function cinder(session: OpenStackSession): ServiceClient {
  return session.service('block-storage', { microversion: MICROVERSIONS.volume });
}

export function glance(session: OpenStackSession): ServiceClient {
  return session.service('image');
}

export function neutron(session: OpenStackSession): ServiceClient {
  return session.service('network');
}

export function keystone(session: OpenStackSession): ServiceClient {
  return session.service('identity');
}

/** Nova's flavors with their sizes. */
export async function listFlavors(session: OpenStackSession): Promise<Flavor[]> {
  return (await nova(session).get<{ flavors: Flavor[] }>('/flavors/detail')).flavors;
}

/** Glance images, by name or tag when given. */
export async function listImages(
  session: OpenStackSession,
  filter: { name?: string; tag?: string } = {},
): Promise<Image[]> {
  return (
    await glance(session).get<{ images: Image[] }>('/v2/images', {
      query: { name: filter.name, tag: filter.tag },
    })
  ).images;
}
