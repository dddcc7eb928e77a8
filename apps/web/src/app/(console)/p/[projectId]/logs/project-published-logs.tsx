'use client';

import { type LogName } from '@coffer/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Download } from 'lucide-react';
import { useState } from 'react';

import { formatBytes, saveText } from '~/components/instance/logs-panel';
import { Badge } from '~/components/ui/badge';
import { Button } from '~/components/ui/button';
import { Card } from '~/components/ui/card';
import { ACTIONS_COLUMN, DataTable } from '~/components/ui/data-table';
import { DateTime } from '~/components/ui/date-time';
import { CardEmptyState, PanelState } from '~/components/ui/panel-state';
import { TD, TR } from '~/components/ui/table';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

const LOG_LABELS: Record<LogName, string> = {
  error: 'Error log',
  slow: 'Slow query log',
  general: 'General log',
};

/** Every published log of the project, newest first, each downloaded decrypted by Coffer. */
export function ProjectPublishedLogs({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const published = useQuery(trpc.log.projectPublished.queryOptions({ projectId }));
  const [error, setError] = useState<string | null>(null);

  const download = async (object: string) => {
    setError(null);
    try {
      const file = await queryClient.fetchQuery({
        ...trpc.log.downloadPublished.queryOptions({ projectId, object }),
        staleTime: 0,
        gcTime: 0,
      });
      saveText(file.fileName, file.text);
    } catch (failure) {
      setError(describeError(failure).message);
    }
  };

  return (
    <Card>
      {error ? (
        <p role="alert" className="px-6 pt-4 text-sm text-red-700">
          {error}
        </p>
      ) : null}
      <PanelState
        variant="card"
        query={published}
        empty={
          <CardEmptyState
            title="No published log"
            description="Publish a log from an instance's Logs tab."
          />
        }
      >
        {(list) => (
          <DataTable
            label="Published logs"
            columns={['Published', 'Instance', 'Log', 'Size', ACTIONS_COLUMN]}
            rows={list}
          >
            {(copy) => (
              <TR key={copy.publishId}>
                <TD>
                  <DateTime value={copy.createdAt} />
                </TD>
                <TD className="font-medium text-zinc-900">
                  {copy.instanceName ?? copy.instanceId}{' '}
                  {copy.isInstanceDeleted ? <Badge tone="neutral">Deleted</Badge> : null}
                </TD>
                <TD>{LOG_LABELS[copy.name]}</TD>
                <TD>{formatBytes(copy.plainSize)}</TD>
                <TD className="text-right">
                  <Button
                    size="sm"
                    variant="ghost"
                    aria-label={`Download the ${LOG_LABELS[copy.name].toLowerCase()} of ${copy.instanceName ?? copy.instanceId} published ${copy.createdAt}`}
                    onClick={() => void download(copy.object)}
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
  );
}
