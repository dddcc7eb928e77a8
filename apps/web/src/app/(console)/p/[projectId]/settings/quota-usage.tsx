'use client';

import { useQuery } from '@tanstack/react-query';

import { QuotaMeters } from '~/components/console/usage-meter';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { PanelState } from '~/components/ui/panel-state';
import { useTRPC } from '~/trpc/react';

export function QuotaUsage({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const quotas = useQuery(trpc.quota.get.queryOptions({ projectId }));
  return (
    <Card className="max-w-2xl">
      <CardHeader>
        <CardTitle>Usage and quotas</CardTitle>
        <CardDescription>
          What this project uses of its limits. Creates beyond a limit are refused; an operator can
          raise it.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-5">
        <PanelState variant="page" query={quotas} errorLabel="Could not load the quotas">
          {(usage) => <QuotaMeters usage={usage} />}
        </PanelState>
      </CardContent>
    </Card>
  );
}
