import { cn } from '~/lib/utils';

/** How much of a quota is used: "3 of 10 instances" with a bar (no bar when unlimited). */
export function UsageMeter({
  label,
  inUse,
  limit,
  unit,
}: {
  label: string;
  inUse: number;
  limit: number;
  unit?: string;
}) {
  const isUnlimited = limit < 0;
  const ratio = isUnlimited ? 0 : limit === 0 ? 1 : Math.min(1, inUse / limit);
  const suffix = unit ? ` ${unit}` : '';
  const text = isUnlimited ? `${inUse}${suffix} used · unlimited` : `${inUse} of ${limit}${suffix}`;
  return (
    <div className="space-y-1.5">
      <div className="flex items-baseline justify-between gap-3 text-sm">
        <span className="font-medium text-zinc-800">{label}</span>
        <span className="tabular-nums text-zinc-600">{text}</span>
      </div>
      {isUnlimited ? null : (
        <div
          role="meter"
          aria-label={label}
          aria-valuemin={0}
          aria-valuemax={limit}
          aria-valuenow={inUse}
          aria-valuetext={text}
          className="h-2 overflow-hidden rounded-full bg-zinc-100"
        >
          <div
            className={cn(
              'h-full rounded-full',
              ratio >= 1 ? 'bg-red-500' : ratio >= 0.8 ? 'bg-amber-500' : 'bg-accent-600',
            )}
            style={{ width: `${Math.round(ratio * 100)}%` }}
          />
        </div>
      )}
    </div>
  );
}

interface Usage {
  inUse: number;
  limit: number;
}

/** A project's three quotas (`quota.get`): instances, volume storage and backups. */
export function QuotaMeters({
  usage,
}: {
  usage: { instances: Usage; volumeGb: Usage; backups: Usage };
}) {
  return (
    <>
      <UsageMeter label="Instances" inUse={usage.instances.inUse} limit={usage.instances.limit} />
      <UsageMeter
        label="Volume storage"
        inUse={usage.volumeGb.inUse}
        limit={usage.volumeGb.limit}
        unit="GB"
      />
      <UsageMeter label="Backups" inUse={usage.backups.inUse} limit={usage.backups.limit} />
    </>
  );
}
