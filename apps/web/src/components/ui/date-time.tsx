'use client';

import { useSyncExternalStore } from 'react';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const local = {
  minutes: new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }),
  seconds: new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' }),
};

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * The same shape in UTC ("Jan 5, 2026, 3:04 PM UTC"), spelled out by hand: the server's and the
 * browser's ICU may differ in a space (Intl puts a narrow no-break space before "PM" in some).
 */
function formatUtc(date: Date, withSeconds: boolean): string {
  const hours = date.getUTCHours();
  const time = `${hours % 12 || 12}:${pad(date.getUTCMinutes())}${withSeconds ? `:${pad(date.getUTCSeconds())}` : ''}`;
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${time} ${hours < 12 ? 'AM' : 'PM'} UTC`;
}

const subscribeToNothing = () => () => {};

/**
 * False while React hydrates the server's HTML (whose render must match it), true afterwards and
 * for everything rendered in the browser later.
 */
export function useIsHydrated(): boolean {
  return useSyncExternalStore(
    subscribeToNothing,
    () => true,
    () => false,
  );
}

/**
 * A timestamp in the reader's time zone ("Jan 5, 2026, 3:04 PM"), to the second if asked. The
 * server does not know that zone, so its HTML (and the browser's hydrating render, which must
 * match it, else React's hydration error #418) shows the time in UTC; the local time replaces it
 * as soon as the page has hydrated.
 */
export function DateTime({
  value,
  withSeconds = false,
  className,
}: {
  value: Date | string;
  withSeconds?: boolean;
  className?: string;
}) {
  const isHydrated = useIsHydrated();
  const date = typeof value === 'string' ? new Date(value) : value;
  return (
    <time dateTime={date.toISOString()} title={date.toISOString()} className={className}>
      {isHydrated
        ? local[withSeconds ? 'seconds' : 'minutes'].format(date)
        : formatUtc(date, withSeconds)}
    </time>
  );
}
