import { createBackupRow } from '@coffer/db/factories';
import { expect, test } from '@playwright/test';

import {
  createProject,
  expectActive,
  holdScripts,
  signUp,
  statusOf,
  uniqueEmail,
  useDatabase,
} from './helpers';

const prisma = useDatabase();

test('create form: backups on by default, the usage and limits, Create disabled over quota; restart asks first; a source with replicas is not offered a delete; a restore chooses its volume size', async ({
  page,
}) => {
  await signUp(page, { name: 'Grace', email: uniqueEmail('grace'), password: 'safeguards-pw-1' });
  await createProject(page, 'Safeguards');
  const projectId = /\/p\/([0-9a-f-]{36})/.exec(page.url())![1]!;

  // The form says backups are on, keeps 7 unless told, and shows the project's usage.
  await page.getByRole('link', { name: 'Create instance' }).click();
  await expect(page.getByRole('heading', { name: 'Create instance' })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'Back up daily' })).toBeChecked();
  await expect(page.getByLabel('Full backups to keep')).toHaveValue('7');
  const usage = page.getByLabel('Project quotas');
  await expect(usage.getByRole('meter', { name: 'Instances' })).toHaveAttribute(
    'aria-valuenow',
    '0',
  );
  await expect(usage).toContainText('Volume storage');
  await expect(usage).toContainText('Backups');
  await page.getByLabel('Instance name').fill('kept-db');
  await page.getByLabel('Full backups to keep').fill('3');
  await page.getByLabel('Database name').fill('');
  await page.getByLabel('User name').fill('');
  await page.getByRole('button', { name: 'Create instance' }).click();
  await expect(page.getByRole('heading', { name: /kept-db/ })).toBeVisible();

  // The schedule it got, on its Backups tab, where it can be changed.
  await page.getByRole('tab', { name: 'Backups' }).click();
  await expect(page.getByLabel('Full backups to keep')).toHaveValue('3');
  await expectActive(page, 'kept-db');

  // Restart asks first; Cancel restarts nothing.
  await page.getByRole('button', { name: 'Restart' }).click();
  const restart = page.getByRole('dialog', { name: 'Restart kept-db?' });
  await expect(restart).toContainText('open connections are dropped');
  await restart.getByRole('button', { name: 'Cancel' }).click();
  await expect(restart).toBeHidden();
  await expect(statusOf(page, 'kept-db')).toHaveAttribute('data-status', 'ACTIVE');

  // A source with a replica (a row of one here): Delete says why not, and offers no delete.
  const source = await prisma.instance.findFirstOrThrow({
    where: { projectId, name: 'kept-db', deletedAt: null },
  });
  const replica = await prisma.instance.create({
    data: {
      projectId,
      name: 'kept-db-replica',
      flavorId: source.flavorId,
      datastoreVersionId: source.datastoreVersionId,
      volumeSizeGb: source.volumeSizeGb,
      taskStatus: 'NONE',
      serviceStatus: 'SHUTDOWN',
      replicaOfId: source.id,
    },
  });
  // A completed backup whose chain held 3 GiB: a restore needs a 3 GB volume at least.
  const backupId = await createBackupRow(prisma, source, {
    name: 'three-gig',
    status: 'COMPLETED',
    progress: 100,
    sizeBytes: 1234n,
    rawSizeBytes: 3n * 1024n ** 3n,
    manifestSha256: 'a'.repeat(64),
    finishedAt: new Date(),
  });
  try {
    await page.reload();
    await expect(page.getByRole('heading', { name: /kept-db/ })).toBeVisible();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const refusal = page.getByRole('dialog', { name: 'kept-db cannot be deleted yet' });
    await expect(refusal).toContainText('source of 1 replica');
    await expect(refusal.getByRole('button', { name: /Delete/ })).toHaveCount(0);
    await refusal.getByRole('button', { name: 'Close' }).click();
    await expect(refusal).toBeHidden();

    await page.getByRole('tab', { name: 'Backups' }).click();
    await page.getByRole('button', { name: 'Restore three-gig' }).click();
    const restore = page.getByRole('dialog', { name: 'Restore three-gig?' });
    const size = restore.getByLabel('Volume size (GB)');
    await expect(size).toHaveValue(/^([3-9]|\d{2,})$/);
    await size.fill('2');
    await restore.getByRole('button', { name: 'Restore to new instance' }).click();
    await expect(restore).toContainText('needs a volume of at least 3 GB');
    await restore.getByRole('button', { name: 'Cancel' }).click();
  } finally {
    await prisma.instance.delete({ where: { id: replica.id } });
    await prisma.backup.delete({ where: { id: backupId } });
  }

  // Over quota: the form shows why and Create is disabled, before anything is filled in.
  await prisma.quota.create({ data: { projectId, resource: 'INSTANCES', hardLimit: 1 } });
  await page.goto(`/p/${projectId}/instances/new`);
  const create = page.getByRole('button', { name: 'Create instance' });
  await expect(page.getByText('This project has 1 of its 1 instances')).toBeVisible();
  await expect(create).toBeDisabled();
  await prisma.quota.update({
    where: { projectId_resource: { projectId, resource: 'INSTANCES' } },
    data: { hardLimit: 5 },
  });
  await prisma.quota.create({
    data: { projectId, resource: 'VOLUME_GB', hardLimit: source.volumeSizeGb + 1 },
  });
  // Typed into the server's HTML, before the page has hydrated: the form still takes it.
  const release = await holdScripts(page);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.getByLabel('Volume size (GB)').fill('2');
  release();
  await expect(page.getByText(/at most 1 GB is left/)).toBeVisible();
  await expect(create).toBeDisabled();
  await page.getByLabel('Volume size (GB)').fill('1');
  await expect(create).toBeEnabled();
});
