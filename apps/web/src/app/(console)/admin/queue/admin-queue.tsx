'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { Card, CardContent, CardHeader, CardTitle } from '~/components/ui/card';
import { ACTIONS_COLUMN, DataTable, RowActions } from '~/components/ui/data-table';
import { FormError } from '~/components/ui/field';
import { PageHeader } from '~/components/ui/page';
import { PanelState } from '~/components/ui/panel-state';
import { TD, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

/** Queue state changes without change events: refreshed every few seconds while the page is open. */
const REFRESH_MS = 5_000;

interface JobRow {
  id: string;
  name: string;
  state: string;
  instanceId: string | null;
  instance: { name: string; projectName: string } | null;
  attemptsMade: number;
  attempts: number;
  failedReason: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

function Subject({ job }: { job: JobRow }) {
  if (job.instance) {
    return (
      <>
        <div className="text-zinc-900">{job.instance.name}</div>
        <div className="text-xs text-zinc-500">{job.instance.projectName}</div>
      </>
    );
  }
  return (
    <span className="font-mono text-xs text-zinc-500">{job.instanceId?.slice(0, 8) ?? '—'}</span>
  );
}

export function AdminQueue() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const overview = useQuery({ ...trpc.admin.queue.queryOptions(), refetchInterval: REFRESH_MS });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.admin.queue.queryKey() });
  const retry = useMutation(trpc.admin.retryJob.mutationOptions({ onSettled: invalidate }));
  const discard = useMutation(trpc.admin.discardJob.mutationOptions({ onSettled: invalidate }));
  const error = retry.error ?? discard.error;

  return (
    <>
      <PageHeader
        title="Taskmanager queue"
        description="Jobs waiting, running, backing off and failed, with their errors."
      />
      <PanelState variant="page" query={overview} errorLabel="Could not read the queue">
        {(queue) => (
          <div className="space-y-6">
            <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
              {(
                [
                  ['Waiting', queue.counts.waiting],
                  ['Active', queue.counts.active],
                  ['Delayed', queue.counts.delayed],
                  ['Failed', queue.counts.failed],
                ] as const
              ).map(([label, count]) => (
                <Card key={label} className="px-4 py-3">
                  <dt className="text-xs uppercase tracking-wide text-zinc-500">{label}</dt>
                  <dd className="text-2xl font-semibold tabular-nums text-zinc-900">{count}</dd>
                </Card>
              ))}
            </dl>

            <Card>
              <CardHeader>
                <CardTitle>Failed jobs</CardTitle>
              </CardHeader>
              {error ? (
                <div className="px-5 pt-4">
                  <FormError message={describeError(error).message} />
                </div>
              ) : null}
              {queue.failed.length === 0 ? (
                <CardContent>
                  <p className="text-sm text-zinc-500">No failed jobs.</p>
                </CardContent>
              ) : (
                <DataTable
                  label="Failed jobs"
                  columns={['Job', 'Instance', 'Error', 'Attempts', 'Failed', ACTIONS_COLUMN]}
                  rows={queue.failed}
                >
                  {(job) => (
                    <TR key={job.id}>
                      <TD>
                        <div className="font-mono text-xs text-zinc-900">{job.name}</div>
                        <div
                          className="max-w-56 truncate font-mono text-xs text-zinc-400"
                          title={job.id}
                        >
                          {job.id}
                        </div>
                      </TD>
                      <TD>
                        <Subject job={job} />
                      </TD>
                      <TD className="max-w-md text-red-700">
                        <div
                          className="line-clamp-3 break-words text-xs"
                          title={job.failedReason ?? undefined}
                        >
                          {job.failedReason ?? 'unknown error'}
                        </div>
                      </TD>
                      <TD className="tabular-nums">
                        {job.attemptsMade} / {job.attempts}
                      </TD>
                      <TD className="whitespace-nowrap">
                        {job.finishedAt ? <DateTime value={job.finishedAt} /> : '—'}
                      </TD>
                      <TD className="whitespace-nowrap text-right">
                        <RowActions
                          actions={(
                            [
                              ['Retry', retry],
                              ['Discard', discard],
                            ] as const
                          ).map(([label, mutation]) => ({
                            label,
                            'aria-label': `${label} ${job.id}`,
                            isLoading: mutation.isPending && mutation.variables?.jobId === job.id,
                            onClick: () => mutation.mutate({ jobId: job.id }),
                          }))}
                        />
                      </TD>
                    </TR>
                  )}
                </DataTable>
              )}
            </Card>

            <Card>
              <CardHeader>
                <CardTitle>Waiting, running and delayed</CardTitle>
              </CardHeader>
              {queue.pending.length === 0 ? (
                <CardContent>
                  <p className="text-sm text-zinc-500">The queue is empty.</p>
                </CardContent>
              ) : (
                <DataTable
                  label="Pending jobs"
                  columns={['Job', 'Instance', 'State', 'Attempts', 'Queued']}
                  rows={queue.pending}
                >
                  {(job) => (
                    <TR key={job.id}>
                      <TD className="font-mono text-xs text-zinc-900">{job.name}</TD>
                      <TD>
                        <Subject job={job} />
                      </TD>
                      <TD className="font-mono text-xs">{job.state}</TD>
                      <TD className="tabular-nums">
                        {job.attemptsMade} / {job.attempts}
                      </TD>
                      <TD className="whitespace-nowrap">
                        <DateTime value={job.createdAt} />
                      </TD>
                    </TR>
                  )}
                </DataTable>
              )}
            </Card>
          </div>
        )}
      </PanelState>
    </>
  );
}
