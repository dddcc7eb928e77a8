'use client';

import { MAX_ALLOWED_CIDRS } from '@coffer/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Globe, Lock } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CardForm } from '~/components/ui/card-form';
import { Checkbox, Field } from '~/components/ui/field';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

interface AccessPanelProps {
  projectId: string;
  instance: { id: string; status: string; isPublic: boolean; allowedCidrs: string[] };
  canWrite: boolean;
}

/** The CIDRs typed in a text area: one per line (commas and spaces also separate them). */
function cidrsOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/**
 * Who may reach the instance's database port (Trove's access): this machine (the control
 * plane and the project's other instances) always; then the allowed CIDRs. Private (the
 * default) allows private networks only; public allows any, and with no CIDRs everyone.
 */
export function AccessPanel({ projectId, instance, canWrite }: AccessPanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [isPublic, setIsPublic] = useState(instance.isPublic);
  const [text, setText] = useState(instance.allowedCidrs.join('\n'));
  const save = useMutation(
    trpc.instance.setAccess.mutationOptions({
      onSuccess: async (saved) => {
        setIsPublic(saved.isPublic);
        setText(saved.allowedCidrs.join('\n'));
        await queryClient.invalidateQueries({
          queryKey: trpc.instance.get.queryKey({ projectId, instanceId: instance.id }),
        });
      },
    }),
  );
  const failure = save.error ? describeError(save.error) : null;
  const cidrError =
    failure?.fieldErrors.allowedCidrs?.[0] ??
    Object.entries(failure?.fieldErrors ?? {}).find(([key]) =>
      key.startsWith('allowedCidrs'),
    )?.[1]?.[0] ??
    null;
  const canChange = instance.status !== 'BUILD' && instance.status !== 'DELETING';

  const current = (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          {instance.isPublic ? (
            <Globe className="size-5 text-amber-600" aria-hidden="true" />
          ) : (
            <Lock className="size-5 text-emerald-600" aria-hidden="true" />
          )}
          Allowed sources
          <Badge tone={instance.isPublic ? 'warning' : 'success'}>
            {instance.isPublic ? 'Public' : 'Private'}
          </Badge>
        </CardTitle>
        <CardDescription>
          The database port answers this machine (the control plane and the project&apos;s other
          instances) and these networks only
          {instance.isPublic && instance.allowedCidrs.length === 0
            ? ': public with no CIDRs, so anyone who reaches the address.'
            : '.'}
        </CardDescription>
      </CardHeader>
      <CardContent>
        {instance.allowedCidrs.length === 0 ? (
          <p className="text-sm text-zinc-500" data-testid="allowed-cidrs">
            No CIDRs.
          </p>
        ) : (
          <ul className="space-y-1 font-mono text-sm" data-testid="allowed-cidrs">
            {instance.allowedCidrs.map((cidr) => (
              <li key={cidr}>{cidr}</li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );

  return (
    <div className="max-w-2xl space-y-6">
      {current}
      {canWrite ? (
        <CardForm
          title="Change allowed sources"
          description={`IPv4 or IPv6 networks in CIDR form (10.0.0.0/8, fd00::/8), one per line, at most ${MAX_ALLOWED_CIDRS}. A private instance takes private networks only. Database users' hosts must lie inside them (%, localhost and 127.0.0.1 always do).`}
          onSubmit={() =>
            save.mutate({
              projectId,
              instanceId: instance.id,
              isPublic,
              allowedCidrs: cidrsOf(text),
            })
          }
          error={failure && !cidrError ? failure.message : null}
          submitLabel="Save allowed sources"
          isPending={save.isPending}
        >
          <Checkbox checked={isPublic} onCheckedChange={setIsPublic}>
            Public (reachable from public networks)
          </Checkbox>
          <Field label="Allowed CIDRs" error={cidrError}>
            <textarea
              className="min-h-28 w-full rounded-md border border-zinc-300 px-3 py-2 font-mono text-sm"
              value={text}
              disabled={!canChange}
              onChange={(event) => setText(event.target.value)}
              placeholder={'10.0.0.0/8\nfd00::/8'}
            />
          </Field>
        </CardForm>
      ) : null}
    </div>
  );
}
