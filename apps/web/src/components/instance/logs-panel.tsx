'use client';

import { type LogName } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Download, Upload } from 'lucide-react';
import { useState } from 'react';

import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { Checkbox, Input } from '~/components/ui/field';
import { ACTIONS_COLUMN, DataTable } from '~/components/ui/data-table';
import { PanelState } from '~/components/ui/panel-state';
import { TD, TR } from '~/components/ui/table';
import { DateTime } from '~/components/ui/date-time';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';
import { type InstancePanelProps } from './instance-panel';
import { InactiveNotice } from './secret-notice';

/** How often the tail is read again while it follows the log. */
const TAIL_POLL_MS = 2000;
const TAIL_LINES = 300;

const LOG_LABELS: Record<LogName, string> = {
  error: 'Error log',
  slow: 'Slow query log',
  general: 'General log',
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Saves `text` as a file in the browser. */
function saveText(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * An instance's database logs (issue 16 part 3): the error log always, the slow query and
 * general logs when switched on; a live tail with search, a download, and published copies in
 * the object store. Passwords are masked by the guest in everything shown here.
 */
export function LogsPanel({ projectId, instanceId, status, canWrite }: InstancePanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isActive = status === 'ACTIVE' || status === 'RESTART_REQUIRED';
  const at = { projectId, instanceId };
  const [selected, setSelected] = useState<LogName>('error');
  const [search, setSearch] = useState('');
  const [isFollowing, setFollowing] = useState(true);
  const [actionError, setActionError] = useState<string | null>(null);

  const logs = useQuery({ ...trpc.log.list.queryOptions(at), enabled: isActive });
  const tail = useQuery({
    ...trpc.log.show.queryOptions({
      ...at,
      name: selected,
      lines: TAIL_LINES,
      search: search.trim() || undefined,
    }),
    enabled: isActive,
    refetchInterval: isFollowing ? TAIL_POLL_MS : false,
  });
  const published = useQuery({ ...trpc.log.published.queryOptions(at), enabled: isActive });

  const onError = (error: unknown) => setActionError(describeError(error).message);
  const refreshLogs = () => queryClient.invalidateQueries({ queryKey: trpc.log.list.queryKey(at) });
  const enable = useMutation(trpc.log.enable.mutationOptions({ onSuccess: refreshLogs, onError }));
  const disable = useMutation(
    trpc.log.disable.mutationOptions({ onSuccess: refreshLogs, onError }),
  );
  const publish = useMutation(
    trpc.log.publish.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.log.published.queryKey(at) }),
      onError,
    }),
  );
  const [isDownloading, setDownloading] = useState(false);
  const download = async () => {
    setDownloading(true);
    setActionError(null);
    try {
      const file = await queryClient.fetchQuery({
        ...trpc.log.download.queryOptions({ ...at, name: selected }),
        staleTime: 0,
      });
      saveText(file.fileName, file.text);
    } catch (error) {
      onError(error);
    } finally {
      setDownloading(false);
    }
  };

  if (!isActive) return <InactiveNotice status={status} what="Logs" />;

  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle>Database logs</CardTitle>
          <CardDescription>
            The error log is always on. The slow query log (queries slower than the
            configuration&apos;s long_query_time, 1 s by default) and the general log (every
            statement) can be switched on. Logs are rotated before they fill the volume; passwords
            are masked.
          </CardDescription>
        </CardHeader>
        <PanelState variant="card" query={logs}>
          {(list) => (
            <DataTable
              label="Logs"
              columns={['Log', 'State', 'Size', 'Rotated copy', ACTIONS_COLUMN]}
              rows={list}
            >
              {(log) => (
                <TR key={log.name}>
                  <TD className="font-medium text-zinc-900">{LOG_LABELS[log.name]}</TD>
                  <TD>
                    <Badge tone={log.enabled ? 'success' : 'neutral'}>
                      {log.enabled ? 'On' : 'Off'}
                    </Badge>
                  </TD>
                  <TD>{formatBytes(log.sizeBytes)}</TD>
                  <TD>{log.rotatedSizeBytes > 0 ? formatBytes(log.rotatedSizeBytes) : '—'}</TD>
                  <TD className="space-x-2 text-right">
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={`Show ${LOG_LABELS[log.name].toLowerCase()}`}
                      onClick={() => setSelected(log.name)}
                    >
                      Show
                    </Button>
                    {canWrite && log.switchable ? (
                      <Button
                        size="sm"
                        variant="secondary"
                        disabled={enable.isPending || disable.isPending}
                        aria-label={`${log.enabled ? 'Disable' : 'Enable'} ${LOG_LABELS[log.name].toLowerCase()}`}
                        onClick={() => {
                          setActionError(null);
                          const variables = { ...at, name: log.name };
                          if (log.enabled) disable.mutate(variables);
                          else enable.mutate(variables);
                        }}
                      >
                        {log.enabled ? 'Disable' : 'Enable'}
                      </Button>
                    ) : null}
                  </TD>
                </TR>
              )}
            </DataTable>
          )}
        </PanelState>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>{LOG_LABELS[selected]}</CardTitle>
          <CardDescription>
            Its last {TAIL_LINES} lines{isFollowing ? ', followed live' : ''}.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-3">
          <div className="flex flex-wrap items-center gap-3">
            <Input
              className="max-w-xs"
              type="search"
              aria-label="Search the log"
              placeholder="Search"
              value={search}
              onChange={(event) => setSearch(event.target.value)}
            />
            <Checkbox checked={isFollowing} onCheckedChange={setFollowing}>
              Follow
            </Checkbox>
            <Button variant="secondary" size="sm" onClick={download} disabled={isDownloading}>
              <Download />
              Download
            </Button>
            {canWrite ? (
              <Button
                variant="secondary"
                size="sm"
                disabled={publish.isPending}
                onClick={() => {
                  setActionError(null);
                  publish.mutate({ ...at, name: selected });
                }}
              >
                <Upload />
                Publish
              </Button>
            ) : null}
          </div>
          {actionError ? (
            <p role="alert" className="text-sm text-red-700">
              {actionError}
            </p>
          ) : null}
          {tail.error ? (
            <p role="alert" className="text-sm text-red-700">
              {describeError(tail.error).message}
            </p>
          ) : null}
          <pre
            role="log"
            aria-label={`${LOG_LABELS[selected]} tail`}
            className="max-h-[28rem] min-h-32 overflow-auto whitespace-pre-wrap break-all rounded-md bg-zinc-950 p-3 font-mono text-xs text-zinc-100"
          >
            {tail.data
              ? tail.data.lines.length > 0
                ? tail.data.lines.join('\n')
                : search.trim()
                  ? 'No line matches.'
                  : 'The log is empty.'
              : 'Loading…'}
          </pre>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Published copies</CardTitle>
          <CardDescription>
            Copies in the object store, encrypted with the project&apos;s backup key. They stay when
            the instance is deleted.
          </CardDescription>
        </CardHeader>
        <PanelState
          variant="card"
          query={published}
          empty={<p className="px-6 pb-6 text-sm text-zinc-500">No log has been published yet.</p>}
        >
          {(list) => (
            <DataTable
              label="Published logs"
              columns={['Published', 'Log', 'Size', 'Object']}
              rows={list}
            >
              {(copy) => (
                <TR key={copy.publishId}>
                  <TD>
                    <DateTime value={copy.createdAt} />
                  </TD>
                  <TD>{LOG_LABELS[copy.name]}</TD>
                  <TD>{formatBytes(copy.plainSize)}</TD>
                  <TD className="break-all font-mono text-xs">{copy.object}</TD>
                </TR>
              )}
            </DataTable>
          )}
        </PanelState>
      </Card>
    </div>
  );
}
