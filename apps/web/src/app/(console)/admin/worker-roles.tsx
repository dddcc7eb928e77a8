'use client';

import { useQuery } from '@tanstack/react-query';

import { Badge } from '~/components/ui/badge';
import { Card, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { PanelState } from '~/components/ui/panel-state';
import { Table, TBody, TD, TH, THead, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { useTRPC } from '~/trpc/react';

/** Roles beat every few seconds: re-read as often while the page is open. */
const REFRESH_MS = 5_000;

const STATE_LABEL = { up: 'Up', down: 'Down', unknown: 'Never seen' } as const;
const STATE_TONE = { up: 'success', down: 'danger', unknown: 'warning' } as const;

/** The worker roles (taskmanager, conductor, watchdog): up, or down since when, and their processes. */
export function WorkerRoles() {
  const trpc = useTRPC();
  const roles = useQuery({ ...trpc.admin.workerRoles.queryOptions(), refetchInterval: REFRESH_MS });

  return (
    <Card className="mt-6">
      <CardHeader>
        <CardTitle>Worker roles</CardTitle>
        <CardDescription>
          A role is down when none of its processes has reported within the heartbeat expiry;{' '}
          <code>npm start</code> starts a crashed one again.
        </CardDescription>
      </CardHeader>
      <PanelState
        variant="page"
        query={roles}
        errorLabel="Could not read the worker roles"
        className="px-5 py-4"
      >
        {(list) => (
          <Table aria-label="Worker roles">
            <THead>
              <tr>
                <TH>Role</TH>
                <TH>State</TH>
                <TH>Processes</TH>
                <TH>Restarts</TH>
              </tr>
            </THead>
            <TBody>
              {list.map((role) => (
                <TR key={role.role}>
                  <TD className="font-mono text-xs text-zinc-900">{role.role}</TD>
                  <TD>
                    <Badge tone={STATE_TONE[role.state]}>{STATE_LABEL[role.state]}</Badge>
                    {role.since ? (
                      <div className="mt-1 text-xs text-zinc-500">
                        since <DateTime value={role.since} />
                      </div>
                    ) : null}
                  </TD>
                  <TD className="text-xs">
                    {role.processes.length === 0
                      ? '—'
                      : role.processes.map((process) => (
                          <div
                            key={`${process.host}:${process.pid}`}
                            className={process.isLive ? 'text-zinc-900' : 'text-zinc-400'}
                          >
                            {process.host} pid {process.pid}:{' '}
                            {process.isLive ? (
                              <>
                                started <DateTime value={process.startedAt} />
                              </>
                            ) : process.stoppedAt ? (
                              <>
                                stopped <DateTime value={process.stoppedAt} />
                              </>
                            ) : (
                              <>
                                last seen <DateTime value={process.lastBeatAt} />
                              </>
                            )}
                          </div>
                        ))}
                  </TD>
                  <TD className="tabular-nums">
                    {role.processes.find((process) => process.isLive)?.restarts ?? '—'}
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        )}
      </PanelState>
    </Card>
  );
}
