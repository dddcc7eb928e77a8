'use client';

import { type LogName } from '@coffer/contracts';
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { Download, Upload } from 'lucide-react';
import { useEffect, useMemo, useState } from 'react';

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

/** How often the tail asks for what was written since its offset while it follows the log. */
const TAIL_POLL_MS = 1000;
/** The lines read when a log is opened, and the most kept in the browser. */
const TAIL_LINES = 500;
const TAIL_KEPT_LINES = 5000;
const MIB = 1024 * 1024;

const LOG_LABELS: Record<LogName, string> = {
  error: 'Error log',
  slow: 'Slow query log',
  general: 'General log',
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Saves `text` as a file in the browser. */
export function saveText(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

type At = { projectId: string; instanceId: string };

/**
 * A live tail by offset: the log's last lines first, then, every second while following, what
 * was written since (log.tail with the previous answer's offset and file); a rotation starts
 * the new file from its beginning. Kept in the browser (at most {@link TAIL_KEPT_LINES}).
 */
function useLogTail(
  queryClient: QueryClient,
  trpc: ReturnType<typeof useTRPC>,
  at: At,
  name: LogName,
  isFollowing: boolean,
  isActive: boolean,
) {
  const [lines, setLines] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [position, setPosition] = useState<{
    offset: number;
    fileId?: string;
    hasMore?: boolean;
  } | null>(null);
  const { projectId, instanceId } = at;

  // A new log (or instance): read its end.
  useEffect(() => {
    if (!isActive) return;
    let isCancelled = false;
    setLines(null);
    setPosition(null);
    setError(null);
    queryClient
      .fetchQuery({
        ...trpc.log.tail.queryOptions({ projectId, instanceId, name, lines: TAIL_LINES }),
        staleTime: 0,
        gcTime: 0,
      })
      .then(
        (first) => {
          if (isCancelled) return;
          setLines(first.lines);
          setPosition({ offset: first.offset, fileId: first.fileId });
        },
        (failure: unknown) => {
          if (!isCancelled) setError(failure);
        },
      );
    return () => {
      isCancelled = true;
    };
  }, [queryClient, trpc, projectId, instanceId, name, isActive]);

  // Following: what came after the offset, at once again while there is more.
  useEffect(() => {
    if (!isActive || !isFollowing || position === null) return;
    let isCancelled = false;
    const timer = setTimeout(
      () => {
        queryClient
          .fetchQuery({
            ...trpc.log.tail.queryOptions({
              projectId,
              instanceId,
              name,
              fromOffset: position.offset,
              fileId: position.fileId,
            }),
            staleTime: 0,
            gcTime: 0,
          })
          .then(
            (next) => {
              if (isCancelled) return;
              setError(null);
              if (next.lines.length > 0) {
                setLines((kept) => [...(kept ?? []), ...next.lines].slice(-TAIL_KEPT_LINES));
              }
              setPosition({ offset: next.offset, fileId: next.fileId, hasMore: next.hasMore });
            },
            (failure: unknown) => {
              if (isCancelled) return;
              setError(failure);
              // Tried again after the interval.
              setPosition((current) => (current ? { ...current, hasMore: false } : current));
            },
          );
      },
      position.hasMore ? 0 : TAIL_POLL_MS,
    );
    return () => {
      isCancelled = true;
      clearTimeout(timer);
    };
  }, [queryClient, trpc, projectId, instanceId, name, isActive, isFollowing, position]);

  return { lines, error };
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
  const tail = useLogTail(queryClient, trpc, at, selected, isFollowing, isActive);
  const needle = search.trim().toLowerCase();
  const shownLines = useMemo(
    () =>
      tail.lines && needle
        ? tail.lines.filter((line) => line.toLowerCase().includes(needle))
        : tail.lines,
    [tail.lines, needle],
  );
  const published = useQuery({ ...trpc.log.published.queryOptions(at), enabled: isActive });
  const [editingCap, setEditingCap] = useState<LogName | null>(null);
  const [capMiB, setCapMiB] = useState('');

  const onError = (error: unknown) => setActionError(describeError(error).message);
  const refreshLogs = () => queryClient.invalidateQueries({ queryKey: trpc.log.list.queryKey(at) });
  const enable = useMutation(trpc.log.enable.mutationOptions({ onSuccess: refreshLogs, onError }));
  const disable = useMutation(
    trpc.log.disable.mutationOptions({ onSuccess: refreshLogs, onError }),
  );
  const setCap = useMutation(
    trpc.log.setCap.mutationOptions({
      onSuccess: () => {
        setEditingCap(null);
        return refreshLogs();
      },
      onError,
    }),
  );
  const publish = useMutation(
    trpc.log.publish.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.log.published.queryKey(at) }),
      onError,
    }),
  );
  const [isDownloading, setDownloading] = useState(false);
  const downloadPublished = async (object: string) => {
    setActionError(null);
    try {
      const file = await queryClient.fetchQuery({
        ...trpc.log.downloadPublished.queryOptions({ projectId, object }),
        staleTime: 0,
        gcTime: 0,
      });
      saveText(file.fileName, file.text);
    } catch (error) {
      onError(error);
    }
  };
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
            statement) can be switched on. Each log stays within its cap (with its rotated files, at
            most three): 1 % of the volume by default. Passwords are masked.
          </CardDescription>
        </CardHeader>
        <PanelState variant="card" query={logs}>
          {(list) => (
            <DataTable
              label="Logs"
              columns={['Log', 'State', 'Size', 'Rotated files', 'Cap', ACTIONS_COLUMN]}
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
                  <TD>
                    {log.rotatedFiles > 0
                      ? `${formatBytes(log.rotatedSizeBytes)} in ${log.rotatedFiles}`
                      : '—'}
                  </TD>
                  <TD>
                    {editingCap === log.name ? (
                      <form
                        className="flex items-center gap-2"
                        onSubmit={(event) => {
                          event.preventDefault();
                          setActionError(null);
                          const value = capMiB.trim();
                          setCap.mutate({
                            ...at,
                            name: log.name,
                            capBytes: value === '' ? null : Math.round(Number(value) * MIB),
                          });
                        }}
                      >
                        <Input
                          className="w-24"
                          type="number"
                          min={1}
                          max={256}
                          step="any"
                          aria-label={`Cap of the ${LOG_LABELS[log.name].toLowerCase()} in MiB`}
                          placeholder={`${Math.round(log.defaultCapBytes / MIB)} (default)`}
                          value={capMiB}
                          onChange={(event) => setCapMiB(event.target.value)}
                        />
                        <Button size="sm" type="submit" disabled={setCap.isPending}>
                          Save
                        </Button>
                      </form>
                    ) : (
                      <>
                        {formatBytes(log.capBytes)}
                        {log.isCapSet ? '' : ' (default)'}
                      </>
                    )}
                  </TD>
                  <TD className="space-x-2 text-right">
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={`Show ${LOG_LABELS[log.name].toLowerCase()}`}
                      onClick={() => setSelected(log.name)}
                    >
                      Show
                    </Button>
                    {canWrite && editingCap !== log.name ? (
                      <Button
                        size="sm"
                        variant="ghost"
                        aria-label={`Set the cap of the ${LOG_LABELS[log.name].toLowerCase()}`}
                        onClick={() => {
                          setEditingCap(log.name);
                          setCapMiB(log.isCapSet ? String(log.capBytes / MIB) : '');
                        }}
                      >
                        Cap
                      </Button>
                    ) : null}
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
            Its last {TAIL_LINES} lines{isFollowing ? ', followed live' : ''}; the search filters
            what is shown. Download gives the whole log, rotated files first.
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
            {shownLines
              ? shownLines.length > 0
                ? shownLines.join('\n')
                : needle
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
              columns={['Published', 'Log', 'Size', 'Object', ACTIONS_COLUMN]}
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
                  <TD className="text-right">
                    <Button
                      size="sm"
                      variant="ghost"
                      aria-label={`Download the ${LOG_LABELS[copy.name].toLowerCase()} published ${copy.createdAt}`}
                      onClick={() => void downloadPublished(copy.object)}
                    >
                      <Download />
                      Download
                    </Button>
                  </TD>
                </TR>
              )}
            </DataTable>
          )}
        </PanelState>
      </Card>
    </div>
  );
}
