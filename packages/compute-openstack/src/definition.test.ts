// The provider's definition: its settings parsed at the worker's boot, a missing one refused
// as UNAVAILABLE naming it (the worker then does not start), a complete set makes a provider.
import { isComputeError, silentLogger, type ComputeProviderContext } from '@coffer/compute';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { openstackComputeProvider } from './definition';
import { openstackComputeEnv } from './env';

const context: ComputeProviderContext = {
  dataDir: undefined,
  instanceHost: '127.0.0.1',
  instanceBindAddress: '127.0.0.1',
  portRange: { min: 23100, max: 23999 },
  guestCommand: () => {
    throw new Error('the OpenStack provider starts no local guest');
  },
  logger: silentLogger,
};

const settings = {
  COFFER_OPENSTACK_AUTH_URL: 'http://keystone.example:5000/v3',
  COFFER_OPENSTACK_USERNAME: 'coffer',
  COFFER_OPENSTACK_PASSWORD: 'secret',
  COFFER_OPENSTACK_PROJECT_NAME: 'dbaas',
  COFFER_OPENSTACK_IMAGE: 'coffer-guest',
  COFFER_OPENSTACK_NETWORK: 'databases',
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('openstack provider definition', () => {
  it('is named openstack and makes a provider from complete settings', () => {
    for (const [key, value] of Object.entries(settings)) vi.stubEnv(key, value);
    expect(openstackComputeProvider.name).toBe('openstack');
    expect(openstackComputeProvider.create(context).name).toBe('openstack');
  });

  it('refuses to be made without credentials, image or a valid URL, naming what is wrong', () => {
    for (const [key, value] of Object.entries(settings)) vi.stubEnv(key, value);
    vi.stubEnv('COFFER_OPENSTACK_PASSWORD', '');
    let error: unknown;
    try {
      openstackComputeProvider.create(context);
    } catch (e) {
      error = e;
    }
    expect(isComputeError(error, 'UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(
      /COFFER_OPENSTACK_USERNAME, _PASSWORD and _PROJECT_NAME/,
    );
    vi.stubEnv('COFFER_OPENSTACK_PASSWORD', 'secret');
    vi.stubEnv('COFFER_OPENSTACK_AUTH_URL', 'keystone');
    expect(() => openstackComputeProvider.create(context)).toThrow(/COFFER_OPENSTACK_AUTH_URL/);
  });

  it('refuses a stream port that is the database port', () => {
    expect(() =>
      openstackComputeEnv({
        COFFER_OPENSTACK_AUTH_URL: 'http://keystone.example:5000',
        COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID: 'id',
        COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: 'secret',
        COFFER_OPENSTACK_IMAGE: 'coffer-guest',
        COFFER_OPENSTACK_NETWORK: 'databases',
        COFFER_OPENSTACK_STREAM_PORT: '3306',
      }),
    ).toThrow(/STREAM_PORT must differ/);
  });

  it('parses the control plane CIDRs, port and timeout, and takes an application credential instead of a password', () => {
    const env = openstackComputeEnv({
      COFFER_OPENSTACK_AUTH_URL: 'http://keystone.example:5000',
      COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID: 'id',
      COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: 'secret',
      COFFER_OPENSTACK_IMAGE: 'coffer-guest',
      COFFER_OPENSTACK_NETWORK: 'databases',
      COFFER_OPENSTACK_CONTROL_PLANE_CIDRS: ' 10.0.0.0/24, fd00::/64 ,',
      COFFER_OPENSTACK_DATABASE_PORT: '3307',
    });
    expect(env).toMatchObject({
      COFFER_OPENSTACK_CONTROL_PLANE_CIDRS: ['10.0.0.0/24', 'fd00::/64'],
      COFFER_OPENSTACK_DATABASE_PORT: 3307,
      COFFER_OPENSTACK_STREAM_PORT: 13306,
      COFFER_OPENSTACK_TIMEOUT_SECONDS: 600,
      COFFER_OPENSTACK_INTERFACE: 'public',
    });
  });
});
