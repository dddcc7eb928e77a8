import { z } from 'zod';

/**
 * The OpenStack provider's settings (the only module of this package that reads process.env),
 * parsed when the worker makes the provider (definition.ts). Credentials are a password
 * (user, project) or an application credential (id and secret).
 */
const optional = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() ? value.trim() : undefined),
  z.string().optional(),
);

export const openstackComputeEnvSchema = z
  .object({
    /** Keystone v3, e.g. `http://keystone.example:5000/v3`. */
    COFFER_OPENSTACK_AUTH_URL: z.url(),
    COFFER_OPENSTACK_USERNAME: optional,
    COFFER_OPENSTACK_PASSWORD: optional,
    COFFER_OPENSTACK_PROJECT_NAME: optional,
    COFFER_OPENSTACK_USER_DOMAIN_NAME: optional,
    COFFER_OPENSTACK_PROJECT_DOMAIN_NAME: optional,
    COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID: optional,
    COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: optional,
    COFFER_OPENSTACK_REGION: optional,
    COFFER_OPENSTACK_INTERFACE: z.enum(['public', 'internal', 'admin']).default('public'),
    /** The guest image in Glance, by name (or id). */
    COFFER_OPENSTACK_IMAGE: z.string().min(1),
    /** The network the servers' ports are made on, by name (or id). */
    COFFER_OPENSTACK_NETWORK: z.string().min(1),
    /** Cinder's volume type for the datadir volumes (default: the cloud's default type). */
    COFFER_OPENSTACK_VOLUME_TYPE: optional,
    /** The control plane's networks (comma-separated CIDRs): always allowed to the database port. */
    COFFER_OPENSTACK_CONTROL_PLANE_CIDRS: z
      .preprocess(
        (value) =>
          typeof value === 'string'
            ? value
                .split(',')
                .map((cidr) => cidr.trim())
                .filter(Boolean)
            : [],
        z.array(z.string()),
      )
      .default([]),
    /** The port the guests' database listens on (each server has its own address). */
    COFFER_OPENSTACK_DATABASE_PORT: z.coerce.number().int().min(1).max(65535).default(3306),
    /**
     * The port a guest listens on for its replicas' direct stream (issue 18), open to the
     * deployment's guests only; `0`: none (replicas are seeded through the object store).
     */
    COFFER_OPENSTACK_STREAM_PORT: z.coerce.number().int().min(0).max(65535).default(13306),
    /** How long a create, resize or delete may wait for OpenStack, seconds. */
    COFFER_OPENSTACK_TIMEOUT_SECONDS: z.coerce.number().positive().default(600),
  })
  .refine(
    (env) =>
      (env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID &&
        env.COFFER_OPENSTACK_APPLICATION_CREDENTIAL_SECRET) ||
      (env.COFFER_OPENSTACK_USERNAME &&
        env.COFFER_OPENSTACK_PASSWORD &&
        env.COFFER_OPENSTACK_PROJECT_NAME),
    {
      message:
        'set COFFER_OPENSTACK_APPLICATION_CREDENTIAL_ID and _SECRET, or COFFER_OPENSTACK_USERNAME, _PASSWORD and _PROJECT_NAME',
    },
  )
  .refine((env) => env.COFFER_OPENSTACK_STREAM_PORT !== env.COFFER_OPENSTACK_DATABASE_PORT, {
    message: 'COFFER_OPENSTACK_STREAM_PORT must differ from COFFER_OPENSTACK_DATABASE_PORT',
  });
export type OpenStackComputeEnv = z.infer<typeof openstackComputeEnvSchema>;

export function openstackComputeEnv(env: NodeJS.ProcessEnv = process.env): OpenStackComputeEnv {
  return openstackComputeEnvSchema.parse(env);
}
