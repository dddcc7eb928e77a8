'use client';

import {
  databaseNameSchema,
  datastoreDisplayName,
  instanceNameSchema,
  MAX_VOLUME_GB,
  MIN_VOLUME_GB,
  userNameSchema,
} from '@coffer/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';

import { UsageMeter } from '~/components/console/usage-meter';
import { PasswordField } from '~/components/instance/users/password-field';
import { Button } from '~/components/ui/button';
import {
  Card,
  CardContent,
  CardDescription,
  CardFooter,
  CardHeader,
  CardTitle,
} from '~/components/ui/card';
import { Checkbox, Field, FormError, Input, Select } from '~/components/ui/field';
import { PageHeader } from '~/components/ui/page';
import { createQuotaRefusal } from '~/lib/create-quota';
import { DEFAULT_BACKUP_RETAIN_FULL_COUNT } from '~/lib/instance-schemas';
import { randomSuffix } from '~/lib/passwords';
import { describeError } from '~/lib/trpc-errors';
import { useGeneratedPassword } from '~/lib/use-generated-password';
import { useTRPC } from '~/trpc/react';

type Errors = Record<string, string | undefined>;

/** The create form: a name, a flavor, a size, optionally a first database and user. Defaults make it two clicks. */
export function CreateInstanceForm({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const flavors = useQuery(trpc.catalog.flavors.queryOptions());
  const versions = useQuery(trpc.catalog.datastoreVersions.queryOptions());
  const quotas = useQuery(trpc.quota.get.queryOptions({ projectId }));

  const [requestId] = useState(() => crypto.randomUUID());
  const [name, setName] = useState('');
  const [flavorId, setFlavorId] = useState('');
  const [volumeSizeGb, setVolumeSizeGb] = useState('');
  const [versionId, setVersionId] = useState('');
  const [databaseName, setDatabaseName] = useState('app');
  const [userName, setUserName] = useState('app_user');
  const [password, regeneratePassword] = useGeneratedPassword();
  const [isPublic, setIsPublic] = useState(false);
  const [allowedCidrs, setAllowedCidrs] = useState('');
  const [backupsEnabled, setBackupsEnabled] = useState(true);
  const [retainFullCount, setRetainFullCount] = useState(String(DEFAULT_BACKUP_RETAIN_FULL_COUNT));
  const [errors, setErrors] = useState<Errors>({});

  // A random default name, made in the browser once the page has hydrated: made while rendering,
  // the server's HTML and the browser would show two different names (React's hydration error).
  useEffect(() => setName((current) => current || `mariadb-${randomSuffix()}`), []);
  // Sensible defaults once the catalog is here: the smallest flavor, its volume (unless one was
  // typed already), the default version.
  useEffect(() => {
    const first = flavors.data?.[0];
    if (first && !flavorId) {
      setFlavorId(first.id);
      setVolumeSizeGb((current) => current || String(first.defaultVolumeGb));
    }
  }, [flavors.data, flavorId]);
  useEffect(() => {
    const preferred = versions.data?.find((v) => v.isDefault) ?? versions.data?.[0];
    if (preferred && !versionId) setVersionId(preferred.id);
  }, [versions.data, versionId]);

  const selectedFlavor = useMemo(
    () => flavors.data?.find((f) => f.id === flavorId),
    [flavors.data, flavorId],
  );

  // Refused by a quota before the form is sent (the server checks again).
  const quotaRefusal = quotas.data
    ? createQuotaRefusal(quotas.data, Number(volumeSizeGb) || 0)
    : null;

  const create = useMutation(
    trpc.instance.create.mutationOptions({
      onSuccess: (instance) => {
        const query = userName ? `?user=${encodeURIComponent(userName)}` : '';
        router.push(`/p/${projectId}/instances/${instance.id}${query}`);
      },
      onError: (error) => {
        const { fieldErrors } = describeError(error);
        const next: Errors = {};
        for (const [key, messages] of Object.entries(fieldErrors)) {
          const field = key.startsWith('databases.')
            ? 'databaseName'
            : key.startsWith('users.')
              ? key.endsWith('password')
                ? 'password'
                : 'userName'
              : key.startsWith('access')
                ? 'allowedCidrs'
                : key === 'backups.retainFullCount'
                  ? 'retainFullCount'
                  : key;
          next[field] ??= messages[0];
        }
        setErrors(next);
      },
    }),
  );

  function validate(): Errors {
    const next: Errors = {};
    const check = (
      field: string,
      result: { success: boolean; error?: { issues: { message: string }[] } },
    ) => {
      if (!result.success) next[field] = result.error?.issues[0]?.message;
    };
    check('name', instanceNameSchema.safeParse(name));
    if (!flavorId) next.flavorId = 'Choose a flavor';
    const size = Number(volumeSizeGb);
    if (!Number.isInteger(size) || size < MIN_VOLUME_GB || size > MAX_VOLUME_GB) {
      next.volumeSizeGb = `Volume size must be a whole number from ${MIN_VOLUME_GB} to ${MAX_VOLUME_GB} GB`;
    }
    const keep = Number(retainFullCount);
    if (backupsEnabled && (!Number.isInteger(keep) || keep < 1 || keep > 100)) {
      next.retainFullCount = 'Keep from 1 to 100 full backups';
    }
    if (databaseName) check('databaseName', databaseNameSchema.safeParse(databaseName));
    if (userName) {
      check('userName', userNameSchema.safeParse(userName));
      if (!databaseName) next.userName = 'A first user needs a first database';
    }
    return next;
  }

  return (
    <form
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const next = validate();
        setErrors(next);
        if (Object.values(next).some(Boolean) || quotaRefusal) return;
        create.mutate({
          projectId,
          requestId,
          name: name.trim(),
          flavorId,
          datastoreVersionId: versionId || undefined,
          volumeSizeGb: Number(volumeSizeGb),
          databases: databaseName ? [{ name: databaseName }] : [],
          users: userName
            ? [
                {
                  name: userName,
                  host: '%',
                  password,
                  databases: databaseName ? [databaseName] : [],
                },
              ]
            : [],
          backups: backupsEnabled
            ? { isEnabled: true, retainFullCount: Number(retainFullCount) }
            : { isEnabled: false },
          access: {
            isPublic,
            allowedCidrs: allowedCidrs.split(/[\s,]+/).filter((cidr) => cidr.length > 0),
          },
        });
      }}
    >
      <PageHeader
        title="Create instance"
        description="A managed MariaDB server, ready in seconds."
      />
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          <Card>
            <CardHeader>
              <CardTitle>Server</CardTitle>
            </CardHeader>
            <CardContent className="grid gap-4 sm:grid-cols-2">
              <Field label="Instance name" error={errors.name} className="sm:col-span-2">
                <Input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
              </Field>
              <Field label="Flavor" error={errors.flavorId}>
                <Select
                  value={flavorId}
                  onChange={(e) => {
                    setFlavorId(e.target.value);
                    const flavor = flavors.data?.find((f) => f.id === e.target.value);
                    if (flavor) setVolumeSizeGb(String(flavor.defaultVolumeGb));
                  }}
                >
                  {(flavors.data ?? []).map((flavor) => (
                    <option key={flavor.id} value={flavor.id}>
                      {flavor.name} · {flavor.vcpus} vCPU ·{' '}
                      {flavor.ramMb >= 1024 ? `${flavor.ramMb / 1024} GB` : `${flavor.ramMb} MB`}{' '}
                      RAM
                    </option>
                  ))}
                </Select>
              </Field>
              <Field
                label="Volume size (GB)"
                error={errors.volumeSizeGb}
                hint={`${MIN_VOLUME_GB} to ${MAX_VOLUME_GB} GB`}
              >
                <Input
                  type="number"
                  inputMode="numeric"
                  min={MIN_VOLUME_GB}
                  max={MAX_VOLUME_GB}
                  value={volumeSizeGb}
                  onChange={(e) => setVolumeSizeGb(e.target.value)}
                />
              </Field>
              <Field label="Datastore version" error={errors.datastoreVersionId}>
                <Select value={versionId} onChange={(e) => setVersionId(e.target.value)}>
                  {(versions.data ?? []).map((version) => (
                    <option key={version.id} value={version.id}>
                      {datastoreDisplayName(version.datastore.name)} {version.version}
                    </option>
                  ))}
                </Select>
              </Field>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>First database and user</CardTitle>
              <CardDescription>
                Optional. Leave the names empty to start with an empty server. Root stays disabled.
              </CardDescription>
            </CardHeader>
            <CardContent className="grid gap-4 sm:grid-cols-2">
              <Field label="Database name" error={errors.databaseName}>
                <Input
                  value={databaseName}
                  onChange={(e) => setDatabaseName(e.target.value)}
                  placeholder="app"
                />
              </Field>
              <Field label="User name" error={errors.userName}>
                <Input
                  value={userName}
                  onChange={(e) => setUserName(e.target.value)}
                  placeholder="app_user"
                />
              </Field>
              {userName ? (
                <PasswordField
                  password={password}
                  onRegenerate={regeneratePassword}
                  error={errors.password}
                  className="sm:col-span-2"
                  hint="Generated for you. Copy it now: Coffer never stores it and cannot show it again."
                />
              ) : null}
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Backups</CardTitle>
              <CardDescription>
                On by default: a full backup every day, the first in the nightly backup window (at
                least an hour from now). Change or turn it off later on the instance&apos;s Backups
                tab.
              </CardDescription>
            </CardHeader>
            <CardContent className="grid gap-4 sm:grid-cols-2">
              <Checkbox
                checked={backupsEnabled}
                onCheckedChange={setBackupsEnabled}
                className="sm:col-span-2"
              >
                Back up daily
              </Checkbox>
              {backupsEnabled ? (
                <Field
                  label="Full backups to keep"
                  error={errors.retainFullCount}
                  hint="Older scheduled backups are deleted."
                >
                  <Input
                    type="number"
                    inputMode="numeric"
                    min={1}
                    max={100}
                    value={retainFullCount}
                    onChange={(e) => setRetainFullCount(e.target.value)}
                  />
                </Field>
              ) : (
                <p className="text-sm text-amber-700 sm:col-span-2">
                  No backups will be made unless you start one or set a schedule.
                </p>
              )}
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Network</CardTitle>
              <CardDescription>
                Who may reach the database port besides this machine. Private (the default) takes
                private networks only; change it later on the instance&apos;s Network tab.
              </CardDescription>
            </CardHeader>
            <CardContent className="space-y-4">
              <Checkbox checked={isPublic} onCheckedChange={setIsPublic}>
                Public (reachable from public networks)
              </Checkbox>
              <Field
                label="Allowed CIDRs"
                error={errors.allowedCidrs}
                hint="Optional: one network per line, such as 10.0.0.0/8 or fd00::/8."
              >
                <textarea
                  className="min-h-20 w-full rounded-md border border-zinc-300 px-3 py-2 font-mono text-sm"
                  value={allowedCidrs}
                  onChange={(e) => setAllowedCidrs(e.target.value)}
                />
              </Field>
            </CardContent>
          </Card>
        </div>
        <Card className="h-fit">
          <CardHeader>
            <CardTitle>Summary</CardTitle>
          </CardHeader>
          <CardContent className="space-y-2 text-sm text-zinc-600">
            <p>
              <span className="font-medium text-zinc-900">{name || '—'}</span>
            </p>
            <p>
              {selectedFlavor
                ? `${selectedFlavor.name}: ${selectedFlavor.vcpus} vCPU, ${selectedFlavor.ramMb} MB RAM`
                : 'No flavor'}{' '}
              · {volumeSizeGb || '?'} GB volume
            </p>
            <p>
              {backupsEnabled
                ? `Backed up daily, the last ${retainFullCount || '?'} full backups kept.`
                : 'No scheduled backups.'}
            </p>
            <p>
              Backed by a private mariadbd with binary logging on; connect over TCP with the user
              above.
            </p>
            {quotas.data ? (
              <div className="space-y-3 border-t border-zinc-100 pt-3" aria-label="Project quotas">
                <UsageMeter
                  label="Instances"
                  inUse={quotas.data.instances.inUse}
                  limit={quotas.data.instances.limit}
                />
                <UsageMeter
                  label="Volume storage"
                  inUse={quotas.data.volumeGb.inUse}
                  limit={quotas.data.volumeGb.limit}
                  unit="GB"
                />
                <UsageMeter
                  label="Backups"
                  inUse={quotas.data.backups.inUse}
                  limit={quotas.data.backups.limit}
                />
                {backupsEnabled &&
                quotas.data.backups.limit >= 0 &&
                quotas.data.backups.inUse >= quotas.data.backups.limit ? (
                  <p className="text-amber-700">
                    The backups quota is used up: scheduled backups wait until backups are deleted
                    or the quota is raised.
                  </p>
                ) : null}
              </div>
            ) : null}
            {quotaRefusal ? <FormError message={quotaRefusal} /> : null}
            {create.error && !Object.values(errors).some(Boolean) ? (
              <FormError message={describeError(create.error).message} />
            ) : null}
          </CardContent>
          <CardFooter>
            <Button variant="secondary" onClick={() => router.back()}>
              Cancel
            </Button>
            <Button
              type="submit"
              isLoading={create.isPending}
              disabled={!flavors.data?.length || quotaRefusal !== null}
              title={quotaRefusal ?? undefined}
            >
              Create instance
            </Button>
          </CardFooter>
        </Card>
      </div>
    </form>
  );
}
