'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ShieldAlert, ShieldCheck } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { FormError } from '~/components/ui/field';
import { MutationConfirmDialog } from '~/components/ui/mutation-confirm-dialog';
import { DateTime } from '~/components/ui/date-time';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type InstancePanelProps } from './instance-panel';
import { SecretNotice } from './secret-notice';

/**
 * Root on an instance (Trove's root API): disabled until asked for. Enabling creates
 * root@% with a generated password, shown here once; disabling drops it again. Whether root
 * was ever enabled is kept.
 */
export function RootPanel({ projectId, instanceId, status, canWrite }: InstancePanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const root = useQuery(trpc.rootAccess.get.queryOptions({ projectId, instanceId }));
  const invalidate = () =>
    queryClient.invalidateQueries({
      queryKey: trpc.rootAccess.get.queryKey({ projectId, instanceId }),
    });
  const [password, setPassword] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<'enable' | 'disable' | null>(null);
  const enable = useMutation(
    trpc.rootAccess.enable.mutationOptions({
      onSuccess: async (enabled) => {
        setConfirming(null);
        setPassword(enabled.password);
        await invalidate();
      },
    }),
  );
  const disable = useMutation(
    trpc.rootAccess.disable.mutationOptions({
      onSuccess: async () => {
        setConfirming(null);
        setPassword(null);
        await invalidate();
      },
    }),
  );
  const isActive = status === 'ACTIVE';
  const data = root.data;

  return (
    <div className="max-w-2xl space-y-6">
      {password ? (
        <SecretNotice
          title="Root enabled"
          label="Root password"
          secret={password}
          onDone={() => setPassword(null)}
        />
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            {data?.isEnabled ? (
              <ShieldAlert className="size-5 text-amber-600" aria-hidden="true" />
            ) : (
              <ShieldCheck className="size-5 text-emerald-600" aria-hidden="true" />
            )}
            Root access
            {data ? (
              <Badge tone={data.isEnabled ? 'warning' : 'success'}>
                {data.isEnabled ? 'Enabled' : 'Disabled'}
              </Badge>
            ) : null}
          </CardTitle>
          <CardDescription>
            Root is disabled until you ask for it: then root@% gets every privilege and a generated
            password, shown once. Coffer keeps managing the instance; what you change as root (its
            accounts, say) can get in its way.
          </CardDescription>
        </CardHeader>
        <CardContent className="space-y-4">
          {root.error ? <FormError message={describeError(root.error).message} /> : null}
          {data ? (
            <p className="text-sm text-zinc-600">
              {data.isEverEnabled ? (
                <>
                  Root has been enabled on this instance (last on{' '}
                  <DateTime value={data.enabledAt!} />
                  ).
                </>
              ) : (
                'Root has never been enabled on this instance.'
              )}
            </p>
          ) : null}
          {canWrite && data ? (
            <div className="flex flex-wrap gap-2">
              <Button
                variant={data.isEnabled ? 'secondary' : 'primary'}
                disabled={!isActive}
                onClick={() => setConfirming('enable')}
              >
                {data.isEnabled ? 'Reset root password' : 'Enable root'}
              </Button>
              {data.isEnabled ? (
                <Button
                  variant="danger"
                  disabled={!isActive}
                  onClick={() => setConfirming('disable')}
                >
                  Disable root
                </Button>
              ) : null}
            </div>
          ) : null}
          {canWrite && !isActive ? (
            <p className="text-sm text-zinc-500">
              Root can be changed while the instance is ACTIVE; it is {status} now.
            </p>
          ) : null}
        </CardContent>
      </Card>

      <MutationConfirmDialog
        target={confirming === 'enable' ? confirming : null}
        onClose={() => setConfirming(null)}
        mutation={enable}
        variables={() => ({ projectId, instanceId })}
        tone="primary"
        title={data?.isEnabled ? 'Reset the root password?' : 'Enable root?'}
        description="root@% gets every privilege and a new generated password, which is shown once. Anyone with it can change everything on this server."
        confirmLabel={data?.isEnabled ? 'Reset password' : 'Enable root'}
      />
      <MutationConfirmDialog
        target={confirming === 'disable' ? confirming : null}
        onClose={() => setConfirming(null)}
        mutation={disable}
        variables={() => ({ projectId, instanceId })}
        title="Disable root?"
        description="Remote root accounts are dropped: root logs in over the server's socket only again. Sessions already open stay until they disconnect."
        confirmLabel="Disable root"
      />
    </div>
  );
}
