/** How the charts print values: short, with the unit. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.sign(bytes) < 0 ? '-' : ''}${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 1_000_000) return `${(value / 1_000_000).toFixed(1)} M`;
  if (Math.abs(value) >= 10_000) return `${(value / 1_000).toFixed(1)} k`;
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
}

export type MetricUnit = 'percent' | 'bytes' | 'perSecond' | 'count' | 'ratio' | 'seconds';

export function formatValue(value: number | null | undefined, unit: MetricUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'percent':
      return `${value.toFixed(value >= 10 ? 0 : 1)} %`;
    case 'bytes':
      return formatBytes(value);
    case 'perSecond':
      return `${formatNumber(value)}/s`;
    case 'ratio':
      return `${(value * 100).toFixed(value >= 0.9995 ? 0 : 1)} %`;
    case 'seconds':
      return `${formatNumber(value)} s`;
    case 'count':
      return formatNumber(value);
  }
}
