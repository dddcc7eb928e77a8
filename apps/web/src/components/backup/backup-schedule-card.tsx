'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { Button } from '~/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { Field, FormError, Input, Select } from '~/components/ui/field';
import { DateTime } from '~/components/ui/date-time';
import { SCHEDULE_INTERVALS } from '~/lib/backup-schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

/**
 * An instance's backup schedule, run by Coffer's watchdog: a full (or logical) backup every
 * so often, physical incrementals between them, and how many full backups to keep (older
 * scheduled chains are deleted with their incrementals; backups made by hand are kept).
 */
export function BackupScheduleCard({
  projectId,
  instanceId,
  canWrite,
}: {
  projectId: string;
  instanceId: string;
  canWrite: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const scheduleKey = trpc.backup.schedule.queryKey({ projectId, instanceId });
  const schedule = useQuery(trpc.backup.schedule.queryOptions({ projectId, instanceId }));
  const [fullType, setFullType] = useState<'FULL' | 'LOGICAL'>('FULL');
  const [fullInterval, setFullInterval] = useState(24 * 60);
  const [incrementalInterval, setIncrementalInterval] = useState<number | null>(60);
  const [retain, setRetain] = useState('7');

  useEffect(() => {
    const current = schedule.data;
    if (!current) return;
    setFullType(current.fullType === 'LOGICAL' ? 'LOGICAL' : 'FULL');
    setFullInterval(current.fullIntervalMinutes);
    setIncrementalInterval(current.incrementalIntervalMinutes);
    setRetain(String(current.retainFullCount));
  }, [schedule.data]);

  const save = useMutation(
    trpc.backup.setSchedule.mutationOptions({
      onSuccess: (data) => queryClient.setQueryData(scheduleKey, data),
    }),
  );
  const remove = useMutation(
    trpc.backup.deleteSchedule.mutationOptions({
      onSuccess: () => queryClient.setQueryData(scheduleKey, null),
    }),
  );
  const errors = save.error ? describeError(save.error) : null;
  const incrementalChoices = SCHEDULE_INTERVALS.filter(
    (interval) => interval.minutes < fullInterval,
  );

  return (
    <Card>
      <CardHeader>
        <CardTitle>Schedule</CardTitle>
        <CardDescription>Automatic backups with retention.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          aria-label="Backup schedule"
          className="space-y-4"
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate({
              projectId,
              instanceId,
              isEnabled: true,
              fullType,
              fullIntervalMinutes: fullInterval,
              incrementalIntervalMinutes: fullType === 'FULL' ? incrementalInterval : null,
              retainFullCount: Number(retain),
            });
          }}
        >
          <Field label="Full backup">
            <Select
              value={`${fullType}:${fullInterval}`}
              disabled={!canWrite}
              onChange={(event) => {
                const [type, minutes] = event.target.value.split(':');
                setFullType(type === 'LOGICAL' ? 'LOGICAL' : 'FULL');
                setFullInterval(Number(minutes));
              }}
            >
              {(['FULL', 'LOGICAL'] as const).flatMap((type) =>
                SCHEDULE_INTERVALS.filter(
                  (interval) => interval.minutes >= 60 * 6 || type === 'FULL',
                ).map((interval) => (
                  <option key={`${type}:${interval.minutes}`} value={`${type}:${interval.minutes}`}>
                    {type === 'FULL' ? 'Physical' : 'Logical'}, {interval.label.toLowerCase()}
                  </option>
                )),
              )}
            </Select>
          </Field>
          {fullType === 'FULL' ? (
            <Field
              label="Incremental backups"
              error={errors?.fieldErrors.incrementalIntervalMinutes?.[0]}
            >
              <Select
                value={incrementalInterval === null ? 'none' : String(incrementalInterval)}
                disabled={!canWrite}
                onChange={(event) =>
                  setIncrementalInterval(
                    event.target.value === 'none' ? null : Number(event.target.value),
                  )
                }
              >
                <option value="none">None</option>
                {incrementalChoices.map((interval) => (
                  <option key={interval.minutes} value={interval.minutes}>
                    {interval.label}
                  </option>
                ))}
              </Select>
            </Field>
          ) : null}
          <Field
            label="Full backups to keep"
            hint="Older scheduled backups are deleted with their incrementals."
            error={errors?.fieldErrors.retainFullCount?.[0]}
          >
            <Input
              type="number"
              min={1}
              max={100}
              value={retain}
              disabled={!canWrite}
              onChange={(event) => setRetain(event.target.value)}
            />
          </Field>
          {schedule.data ? (
            <p className="text-xs text-zinc-500">
              {schedule.data.isEnabled ? (
                <>
                  Next full backup: <DateTime value={schedule.data.nextFullAt} />
                </>
              ) : (
                'Paused.'
              )}
              {schedule.data.isEnabled && schedule.data.nextIncrementalAt ? (
                <>
                  {' '}
                  · next incremental: <DateTime value={schedule.data.nextIncrementalAt} />
                </>
              ) : null}
              {schedule.data.lastError ? (
                <span className="mt-1 block text-amber-700">{schedule.data.lastError}</span>
              ) : null}
            </p>
          ) : null}
          {errors && Object.keys(errors.fieldErrors).length === 0 ? (
            <FormError message={errors.message} />
          ) : null}
          {canWrite ? (
            <div className="flex flex-wrap justify-end gap-2">
              {schedule.data ? (
                <Button
                  variant="secondary"
                  size="sm"
                  onClick={() => remove.mutate({ projectId, instanceId })}
                  isLoading={remove.isPending}
                >
                  Turn off
                </Button>
              ) : null}
              <Button type="submit" size="sm" isLoading={save.isPending}>
                {schedule.data ? 'Save schedule' : 'Turn on schedule'}
              </Button>
            </div>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
