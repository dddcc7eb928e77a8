import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  guestKeys,
  guestRedisPassword,
  guestSecretAtRestKey,
  jobPayloadKey,
  projectBackupKey,
} from '@coffer/contracts/crypto';
import { type PrismaClient } from '@coffer/db';
import { isListingSecrets, registerSecret, registerSecretsIn } from '@coffer/testing/secrets';

import { openGuestSecret } from '../src/guest-secret';

/**
 * For the scan of a test run's logs (COFFER_TEST_LOG_DIR, see packages/testing): lists the
 * secrets of the control plane and of the instances a test made, read back as only a test
 * may. The master key and the keys derived from it (job payloads, guest secrets at rest, each
 * project's backups); every guest's secret (opened from its row) and the keys derived from
 * it, and its own Redis password (derived from the master key); what each instance's
 * injected guest-agent.json holds (its secret, the Redis password); the replication password
 * in each replica's master.info. Call it before the instances and the database go. Does
 * nothing unless the run lists its secrets.
 */
export async function registerRunSecrets(
  prisma: PrismaClient,
  masterKey: string,
  dataDir?: string,
): Promise<void> {
  if (!isListingSecrets()) return;
  registerSecret('COFFER_MASTER_KEY', masterKey);
  registerSecret('the job-payload key', jobPayloadKey(masterKey));
  registerSecret('the guest-secret-at-rest key', guestSecretAtRestKey(masterKey));
  const projects = await prisma.project.findMany({ select: { id: true } }).catch(() => []);
  for (const { id } of projects)
    registerSecret(`the backup key of project ${id}`, projectBackupKey(masterKey, id));
  const instances = await prisma.instance
    .findMany({ select: { id: true, guestSecretEnc: true } })
    .catch(() => []);
  for (const { id, guestSecretEnc } of instances) {
    registerSecret(`the guest Redis password of ${id}`, guestRedisPassword(masterKey, id));
    if (!guestSecretEnc) continue;
    try {
      registerGuestSecret(id, openGuestSecret(masterKey, id, guestSecretEnc));
    } catch {
      // Sealed with another master key (a test of exactly that).
    }
  }
  if (dataDir) registerInstanceFiles(join(dataDir, 'instances'));
}

function registerGuestSecret(instanceId: string, secret: string): void {
  registerSecret(`the guest secret of ${instanceId}`, secret);
  const { signing, sealing } = guestKeys(secret);
  registerSecret(`the guest signing key of ${instanceId}`, signing);
  registerSecret(`the guest sealing key of ${instanceId}`, sealing);
}

/** What the injected files and the replicas' master.info of every instance under `instancesDir` hold. */
export function registerInstanceFiles(instancesDir: string): void {
  if (!isListingSecrets()) return;
  let ids: string[];
  try {
    ids = readdirSync(instancesDir);
  } catch {
    return;
  }
  for (const id of ids) {
    let agent: { guestSecret?: string; datastore?: { volumeDir?: string } };
    try {
      agent = JSON.parse(readFileSync(join(instancesDir, id, 'etc', 'guest-agent.json'), 'utf8'));
    } catch {
      continue;
    }
    registerSecretsIn(`guest-agent.json of ${id}`, agent);
    if (agent.guestSecret) registerGuestSecret(id, agent.guestSecret);
    if (!agent.datastore?.volumeDir) continue;
    try {
      // master.info: line count, binlog file, position, host, user, password, port, …
      const lines = readFileSync(
        join(agent.datastore.volumeDir, 'data', 'master.info'),
        'utf8',
      ).split('\n');
      registerSecret(`the replication password of ${id}`, lines[5]);
    } catch {
      // Not a replica.
    }
  }
}
