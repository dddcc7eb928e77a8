import { ComputeError, type ComputeProviderDefinition } from '@coffer/compute';
import { KeystoneAuth, OpenStackSession } from '@coffer/openstack';
import { z } from 'zod';

import { openstackComputeEnv } from './env';
import { OpenStackComputeProvider } from './openstack-provider';

/**
 * The OpenStack provider for the worker's registry (apps/worker/src/compute.ts), picked by
 * COFFER_COMPUTE_PROVIDER=openstack (registered there). Its settings are
 * COFFER_OPENSTACK_* (env.ts); a missing or malformed one stops the worker at boot.
 */
export const openstackComputeProvider: ComputeProviderDefinition = {
  name: 'openstack',
  create(context) {
    const parsed = (() => {
      try {
        return openstackComputeEnv();
      } catch (error) {
        throw new ComputeError(
          'UNAVAILABLE',
          `the OpenStack settings do not parse: ${describeSettingsError(error)}`,
        );
      }
    })();
    const credentials = parsed.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID
      ? {
          type: 'application_credential' as const,
          id: parsed.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID,
          secret: parsed.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET!,
        }
      : {
          type: 'password' as const,
          username: parsed.COFFER_OPENSTACK_USERNAME!,
          password: parsed.COFFER_OPENSTACK_PASSWORD!,
          userDomainName: parsed.COFFER_OPENSTACK_USER_DOMAIN_NAME,
          projectName: parsed.COFFER_OPENSTACK_PROJECT_NAME!,
          projectDomainName: parsed.COFFER_OPENSTACK_PROJECT_DOMAIN_NAME,
        };
    const auth = new KeystoneAuth({
      authUrl: parsed.COFFER_OPENSTACK_AUTH_URL,
      credentials,
      logger: context.logger,
    });
    return new OpenStackComputeProvider({
      session: new OpenStackSession({
        auth,
        region: parsed.COFFER_OPENSTACK_REGION,
        interface: parsed.COFFER_OPENSTACK_INTERFACE,
        logger: context.logger,
      }),
      image: parsed.COFFER_OPENSTACK_IMAGE,
      network: parsed.COFFER_OPENSTACK_NETWORK,
      volumeType: parsed.COFFER_OPENSTACK_VOLUME_TYPE,
      controlPlaneCidrs: parsed.COFFER_OPENSTACK_CONTROL_PLANE_CIDRS,
      databasePort: parsed.COFFER_OPENSTACK_DATABASE_PORT,
      streamPort: parsed.COFFER_OPENSTACK_STREAM_PORT || null,
      timeoutMs: parsed.COFFER_OPENSTACK_TIMEOUT_SECONDS * 1000,
      logger: context.logger,
    });
  },
};

/** One line per refused setting (`COFFER_OPENSTACK_IMAGE: …`), not zod's JSON. */
function describeSettingsError(error: unknown): string {
  if (error instanceof z.ZodError) {
    return error.issues
      .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ` : '') + issue.message)
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}
