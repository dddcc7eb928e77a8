/**
 * Calling Coffer's tRPC API from a script, with an API token and full types.
 *
 * Make a token in the console (project → Settings → API tokens), then:
 *
 *   export COFFER_URL=http://localhost:3000 COFFER_TOKEN=cof_… COFFER_PROJECT_ID=<the project's id>
 *   npx tsx examples/api-client.ts                     # list the project's instances
 *   npx tsx examples/api-client.ts --create orders-db  # create one (read-write token) and wait for ACTIVE
 *
 * The only thing taken from Coffer is the router's *type* (`import type`): the client checks
 * every call and answer at compile time, and no server code is bundled into the script.
 */
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import SuperJSON from 'superjson';
import { z } from 'zod';

import type { AppRouter } from '@coffer/web/api';

const settings = z
  .object({
    COFFER_URL: z.url().default('http://localhost:3000'),
    COFFER_TOKEN: z.string().startsWith('cof_', 'COFFER_TOKEN must be a Coffer API token (cof_…)'),
    COFFER_PROJECT_ID: z.uuid('COFFER_PROJECT_ID must be the id of the token’s project'),
  })
  .parse(process.env);

const coffer = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: new URL('/api/trpc', settings.COFFER_URL).toString(),
      transformer: SuperJSON,
      headers: { authorization: `Bearer ${settings.COFFER_TOKEN}` },
    }),
  ],
});
const projectId = settings.COFFER_PROJECT_ID;

/** Runs a call; when Coffer answers 429 (too many requests), waits as long as it says and tries once more. */
async function withRateLimitRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryAfter =
      error instanceof TRPCClientError
        ? (error.data as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds
        : undefined;
    if (!retryAfter) throw error;
    console.error(`rate limited: retrying in ${retryAfter} s`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    return call();
  }
}

async function listInstances(): Promise<void> {
  const instances = await withRateLimitRetry(() => coffer.instance.list.query({ projectId }));
  if (instances.length === 0) console.log('no instances');
  for (const instance of instances) {
    const endpoint = instance.host && instance.port ? `${instance.host}:${instance.port}` : '-';
    console.log(
      `${instance.name.padEnd(24)} ${instance.status.padEnd(10)} ${instance.flavor.name.padEnd(10)} ${endpoint}`,
    );
  }
}

async function createInstance(name: string): Promise<void> {
  const [flavor] = await coffer.catalog.flavors.query();
  if (!flavor) throw new Error('no flavor is offered');
  // The request id makes a retried create (after a timeout, say) find the same instance.
  const created = await withRateLimitRetry(() =>
    coffer.instance.create.mutate({
      projectId,
      name,
      flavorId: flavor.id,
      volumeSizeGb: flavor.defaultVolumeGb,
      requestId: crypto.randomUUID(),
    }),
  );
  console.log(`created ${created.name} (${created.id}): ${created.status}`);

  // The console is pushed changes over SSE; a script can simply ask again now and then.
  const deadline = Date.now() + 5 * 60_000;
  let status = created.status;
  while (status === 'BUILD' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const instance = await withRateLimitRetry(() =>
      coffer.instance.get.query({ projectId, instanceId: created.id }),
    );
    if (instance.status !== status) console.log(`${instance.name}: ${instance.status}`);
    status = instance.status;
    if (status === 'ACTIVE')
      console.log(`connect with: mariadb -h ${instance.host} -P ${instance.port} -u <user> -p`);
    if (status === 'ERROR') console.log(`fault: ${instance.faultMessage ?? 'unknown'}`);
  }
}

async function main(): Promise<void> {
  const createIndex = process.argv.indexOf('--create');
  if (createIndex !== -1) {
    const name = process.argv[createIndex + 1];
    if (!name) throw new Error('usage: --create <instance name>');
    await createInstance(name);
  }
  await listInstances();
}

main().catch((error: unknown) => {
  if (error instanceof TRPCClientError) {
    // e.g. UNAUTHORIZED (revoked or expired token), FORBIDDEN (a read-only token), NOT_FOUND (another project)
    const data = error.data as
      { code?: string; fieldErrors?: Record<string, string[]> | null } | undefined;
    console.error(`Coffer said ${data?.code ?? 'error'}: ${error.message}`);
    if (data?.fieldErrors) console.error(data.fieldErrors);
  } else {
    console.error(error);
  }
  process.exit(1);
});
