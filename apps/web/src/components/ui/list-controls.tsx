'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';

import { type ListParams, withListParams } from '~/lib/list-params';
import { Button } from './button';
import { Field, Input, Select } from './field';

/**
 * A paged table's controls (search, status, sort, page), kept in the page's URL: a reload or
 * a shared link shows the same page of the same view; the search is sent once typing pauses.
 * `read` is the list's reader of lib/list-params.ts (the server page prefetches with it).
 */

const SEARCH_DELAY_MS = 300;

export function useListParams<Sort extends string, Status extends string>(
  read: (get: (name: string) => string | null, prefix?: string) => ListParams<Sort, Status>,
  prefix = '',
) {
  const pathname = usePathname();
  const searchParams = useSearchParams();
  const params = read((name) => searchParams.get(name), prefix);
  const [searchText, setSearchText] = useState(params.search);

  /** Changes the URL (a new page is a step of history; a new view replaces the entry). */
  function update(changes: Record<string, string | number | null>, isStep = false) {
    const prefixed = Object.fromEntries(
      Object.entries(changes).map(([name, value]) => [`${prefix}${name}`, value]),
    );
    const query = withListParams(window.location.search, prefixed);
    const url = query ? `${pathname}?${query}` : pathname;
    // Next's router follows the browser's own history calls (useSearchParams updates).
    if (isStep) window.history.pushState(null, '', url);
    else window.history.replaceState(null, '', url);
  }

  useEffect(() => {
    const text = searchText.trim();
    if (text === params.search) return;
    const timer = setTimeout(() => update({ q: text, page: null }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [searchText, params.search]);

  // Back and Forward (or a link) bring another search: the box shows it. Only a change does:
  // on mount the box already shows the URL's, or what was typed before the page hydrated.
  const shownSearch = useRef(params.search);
  useEffect(() => {
    if (shownSearch.current === params.search) return;
    shownSearch.current = params.search;
    setSearchText((text) => (text.trim() === params.search ? text : params.search));
  }, [params.search]);

  return {
    ...params,
    isFiltered: !!(params.search || params.status),
    searchText,
    setSearchText,
    /** The search box's props (its value and changes; Input keeps text typed before hydration). */
    searchBox: {
      type: 'search',
      value: searchText,
      onChange: (event: React.ChangeEvent<HTMLInputElement>) => setSearchText(event.target.value),
      // The URL holds the search: no browser autofill, nor its restoring a stale value on reload.
      autoComplete: 'off',
    } as const,
    setStatus: (status: Status | '') => update({ status, page: null }),
    setSortKey: (sortKey: Sort) => update({ sort: sortKey, page: null }),
    setPage: (page: number) => update({ page: page === 1 ? null : page }, true),
    /** Another filter of the view (its name without the prefix; '' clears it): page 1 again. */
    setFilter: (name: string, value: string) => update({ [name]: value, page: null }),
  };
}

type ListControlsState<Sort extends string, Status extends string> = ReturnType<
  typeof useListParams<Sort, Status>
>;

/** The search box, status and sort menus above a paged table. */
export function ListControls<Sort extends string, Status extends string>({
  list,
  label,
  searchPlaceholder,
  statuses,
  sorts,
  children,
}: {
  list: ListControlsState<Sort, Status>;
  /** The search landmark's name ("Instances"). */
  label: string;
  searchPlaceholder: string;
  statuses: readonly Status[];
  sorts: Record<Sort, { label: string }>;
  /** More filters, after the status. */
  children?: React.ReactNode;
}) {
  return (
    <div className="mb-3 flex flex-wrap items-end gap-3" role="search" aria-label={label}>
      <Field label="Search" className="w-full sm:w-64">
        <Input {...list.searchBox} placeholder={searchPlaceholder} />
      </Field>
      <Field label="Status" className="w-40">
        <Select value={list.status} onChange={(e) => list.setStatus(e.target.value as Status | '')}>
          <option value="">Any status</option>
          {statuses.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </Select>
      </Field>
      {children}
      <Field label="Sort" className="w-44">
        <Select value={list.sortKey} onChange={(e) => list.setSortKey(e.target.value as Sort)}>
          {(Object.entries(sorts) as [Sort, { label: string }][]).map(([key, { label: text }]) => (
            <option key={key} value={key}>
              {text}
            </option>
          ))}
        </Select>
      </Field>
    </div>
  );
}

/** "26–50 of 500" with Previous and Next, under a paged table (nothing when nothing matches). */
export function ListPager({
  label,
  listed,
  onPage,
}: {
  /** The navigation landmark's name ("Instance pages"). */
  label: string;
  listed: { total: number; page: number; pageSize: number } | undefined;
  onPage: (page: number) => void;
}) {
  if (!listed || listed.total === 0) return null;
  const lastPage = Math.max(1, Math.ceil(listed.total / listed.pageSize));
  return (
    <nav
      aria-label={label}
      className="mt-3 flex flex-wrap items-center justify-end gap-3 text-sm text-zinc-600"
    >
      <span>
        {Math.min(listed.total, (listed.page - 1) * listed.pageSize + 1)}–
        {Math.min(listed.total, listed.page * listed.pageSize)} of {listed.total}
      </span>
      <Button
        variant="secondary"
        size="sm"
        disabled={listed.page <= 1}
        onClick={() => onPage(Math.min(lastPage, listed.page - 1))}
      >
        Previous
      </Button>
      <Button
        variant="secondary"
        size="sm"
        disabled={listed.page >= lastPage}
        onClick={() => onPage(listed.page + 1)}
      >
        Next
      </Button>
    </nav>
  );
}
