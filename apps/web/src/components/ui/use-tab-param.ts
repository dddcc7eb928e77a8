'use client';

import { usePathname, useSearchParams } from 'next/navigation';

/**
 * The selected tab of a page, kept in its URL (`?tab=backups`; none for the first tab): a reload
 * shows the same tab, a link can point at one, and Back and Forward step through the tabs chosen.
 * A value that names no tab is for `Tabs` to treat as its first.
 */
export function useTabParam(firstTab: string): [string, (value: string) => void] {
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const tab = searchParams.get('tab') ?? firstTab;

  function selectTab(value: string) {
    if (value === tab) return;
    const params = new URLSearchParams(searchParams.toString());
    if (value === firstTab) params.delete('tab');
    else params.set('tab', value);
    const query = params.toString();
    // Next's router follows the browser's own history calls (usePathname/useSearchParams update),
    // without asking the server for the page again.
    window.history.pushState(null, '', query ? `${pathname}?${query}` : pathname);
  }

  return [tab, selectTab];
}
