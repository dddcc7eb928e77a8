'use client';

import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { Input } from '~/components/ui/field';
import { cn } from '~/lib/utils';
import type { MetricRange } from './types';

export type RangeChoice =
  { kind: 'preset'; range: MetricRange } | { kind: 'custom'; from: string; to: string };

const PRESETS: Array<{ range: MetricRange; label: string }> = [
  { range: '1h', label: '1 h' },
  { range: '6h', label: '6 h' },
  { range: '24h', label: '24 h' },
  { range: '7d', label: '7 d' },
];

/** `datetime-local`'s value (local time, minutes) for a date. */
function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/**
 * The Monitoring tab's time range: the last hour, 6 hours, 24 hours or 7 days (following
 * live), or a custom from–to (fixed).
 */
export function RangePicker({
  value,
  onChange,
}: {
  value: RangeChoice;
  onChange: (value: RangeChoice) => void;
}) {
  const [isCustomOpen, setIsCustomOpen] = useState(value.kind === 'custom');
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 24 * 3600_000)));
  const [to, setTo] = useState(() => toLocalInput(new Date()));
  const fromDate = new Date(from);
  const toDate = new Date(to);
  const isValid =
    !Number.isNaN(fromDate.getTime()) && !Number.isNaN(toDate.getTime()) && fromDate < toDate;

  return (
    <div className="flex flex-wrap items-end gap-3">
      <div role="group" aria-label="Time range" className="inline-flex rounded-md shadow-sm">
        {PRESETS.map((preset, index) => {
          const isSelected = value.kind === 'preset' && value.range === preset.range;
          return (
            <button
              key={preset.range}
              type="button"
              aria-pressed={isSelected}
              onClick={() => {
                setIsCustomOpen(false);
                onChange({ kind: 'preset', range: preset.range });
              }}
              className={cn(
                'border border-zinc-300 px-3 py-1.5 text-sm',
                index === 0 ? 'rounded-l-md' : '-ml-px',
                isSelected
                  ? 'z-10 border-accent-600 bg-accent-600 text-white'
                  : 'bg-white text-zinc-700 hover:bg-zinc-50',
              )}
            >
              {preset.label}
            </button>
          );
        })}
        <button
          type="button"
          aria-pressed={value.kind === 'custom'}
          aria-expanded={isCustomOpen}
          onClick={() => setIsCustomOpen((open) => !open)}
          className={cn(
            '-ml-px rounded-r-md border border-zinc-300 px-3 py-1.5 text-sm',
            value.kind === 'custom'
              ? 'z-10 border-accent-600 bg-accent-600 text-white'
              : 'bg-white text-zinc-700 hover:bg-zinc-50',
          )}
        >
          Custom
        </button>
      </div>
      {isCustomOpen ? (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            if (!isValid) return;
            onChange({
              kind: 'custom',
              from: fromDate.toISOString(),
              to: toDate.toISOString(),
            });
          }}
        >
          <label className="text-xs text-zinc-600">
            From
            <Input
              type="datetime-local"
              className="mt-0.5 h-8"
              value={from}
              onChange={(event) => setFrom(event.target.value)}
            />
          </label>
          <label className="text-xs text-zinc-600">
            To
            <Input
              type="datetime-local"
              className="mt-0.5 h-8"
              value={to}
              onChange={(event) => setTo(event.target.value)}
            />
          </label>
          <Button type="submit" variant="secondary" disabled={!isValid}>
            Show
          </Button>
          {!isValid ? (
            <span role="alert" className="text-xs text-red-600">
              From must be before to.
            </span>
          ) : null}
        </form>
      ) : null}
    </div>
  );
}
