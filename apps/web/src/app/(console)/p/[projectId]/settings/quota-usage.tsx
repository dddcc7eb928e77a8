'use client';

import { useQuery } from '@tanstack/react-query';

import { UsageMeter } from '~/components/console/usage-meter';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { useTRPC } from '~/trpc/react';

export function QuotaUsage({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const quotas = useQuery(trpc.quota.get.queryOptions({ projectId }));
  return (
    <Card className="max-w-2xl">
      <CardHeader>
        <CardTitle>Usage and quotas</CardTitle>
        <CardDescription>
          What this project uses of its limits. Creates beyond a limit are refused; an operator can raise it.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-5">
        {quotas.error ? (
          <p role="alert" className="text-sm text-red-600">
            Could not load the quotas: {quotas.error.message}
          </p>
        ) : !quotas.data ? (
          <p className="text-sm text-zinc-500">Loading…</p>
        ) : (
          <>
            <UsageMeter label="Instances" inUse={quotas.data.instances.inUse} limit={quotas.data.instances.limit} />
            <UsageMeter label="Volume storage" inUse={quotas.data.volumeGb.inUse} limit={quotas.data.volumeGb.limit} unit="GB" />
            <UsageMeter label="Backups" inUse={quotas.data.backups.inUse} limit={quotas.data.backups.limit} />
          </>
        )}
      </CardContent>
    </Card>
  );
}
