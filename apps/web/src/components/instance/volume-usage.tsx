import { TriangleAlert } from 'lucide-react';

/** Past this share of the volume used, the console warns (issue 13). */
export const VOLUME_WARNING_RATIO = 0.9;

export interface VolumeUsage {
  usedBytes: number;
  totalBytes: number;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit < 2 ? 0 : 1)} ${units[unit]}`;
}

export function volumeUsageRatio(usage: VolumeUsage | null): number | null {
  if (!usage || usage.totalBytes <= 0) return null;
  return Math.min(1, Math.max(0, usage.usedBytes / usage.totalBytes));
}

/**
 * The volume's usage as its guest last reported it: a bar with used and total, amber past
 * {@link VOLUME_WARNING_RATIO} with a warning to grow it. Without a report yet, only the size.
 */
export function VolumeUsageBar({ sizeGb, usage }: { sizeGb: number; usage: VolumeUsage | null }) {
  const ratio = volumeUsageRatio(usage);
  if (ratio === null || !usage) {
    return (
      <p className="text-sm text-zinc-500" data-testid="volume-usage">
        {sizeGb} GB; usage not reported yet.
      </p>
    );
  }
  const percent = Math.round(ratio * 100);
  const isHigh = ratio >= VOLUME_WARNING_RATIO;
  return (
    <div data-testid="volume-usage" className="space-y-1.5">
      <div className="flex justify-between gap-4 text-sm">
        <span className="text-zinc-500">Volume used</span>
        <span className={isHigh ? 'font-medium text-amber-800' : 'text-zinc-900'}>
          {formatBytes(usage.usedBytes)} of {formatBytes(usage.totalBytes)} ({percent} %)
        </span>
      </div>
      <div
        role="meter"
        aria-label="Volume used"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 w-full overflow-hidden rounded-full bg-zinc-100"
      >
        <div
          className={`h-full rounded-full ${isHigh ? 'bg-amber-500' : 'bg-emerald-500'}`}
          style={{ width: `${percent}%` }}
        />
      </div>
      {isHigh ? (
        <p role="status" className="flex items-center gap-1.5 text-sm text-amber-800">
          <TriangleAlert className="size-4 shrink-0" aria-hidden="true" />
          {ratio >= 0.999
            ? 'The volume is full: the database refuses writes. Grow the volume.'
            : `The volume is over ${Math.round(VOLUME_WARNING_RATIO * 100)} % full: grow it before writes fail.`}
        </p>
      ) : null}
    </div>
  );
}

/** For a list row: "· 93 % used" in amber past the warning, nothing below it or without a report. */
export function VolumeUsageWarning({ usage }: { usage: VolumeUsage | null }) {
  const ratio = volumeUsageRatio(usage);
  if (ratio === null || ratio < VOLUME_WARNING_RATIO) return null;
  return (
    <span className="text-amber-800" title="Grow the volume before writes fail">
      {' '}
      · {Math.round(ratio * 100)} % used
    </span>
  );
}
