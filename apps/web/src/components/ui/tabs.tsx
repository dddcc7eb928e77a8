'use client';

import * as React from 'react';

import { cn } from '~/lib/utils';

export interface TabItem {
  value: string;
  label: React.ReactNode;
  /** Rendered only while its tab is selected (so a panel's queries run when it is shown). */
  content: React.ReactNode;
}

/**
 * Tabs with the WAI-ARIA tabs pattern: a `tablist` of `tab` buttons (arrow keys, Home and End
 * move between them) and the selected `tabpanel`, labelled by its tab. `value` is controlled
 * by the caller.
 */
export function Tabs({
  label,
  items,
  value,
  onValueChange,
  className,
}: {
  /** The accessible name of the tab list. */
  label: string;
  items: TabItem[];
  value: string;
  onValueChange: (value: string) => void;
  className?: string;
}) {
  const baseId = React.useId();
  const listRef = React.useRef<HTMLDivElement>(null);
  const tabRefs = React.useRef<(HTMLButtonElement | null)[]>([]);
  const selected = items.find((item) => item.value === value) ?? items[0];
  const selectedIndex = selected ? items.indexOf(selected) : -1;

  // On a narrow screen the list scrolls sideways: keep the selected tab in view (also when the
  // page opens on it), moving the list only, never the page.
  React.useEffect(() => {
    const list = listRef.current;
    const tab = tabRefs.current[selectedIndex];
    if (!list || !tab) return;
    if (tab.offsetLeft < list.scrollLeft) list.scrollLeft = tab.offsetLeft;
    else if (tab.offsetLeft + tab.offsetWidth > list.scrollLeft + list.clientWidth)
      list.scrollLeft = tab.offsetLeft + tab.offsetWidth - list.clientWidth;
  }, [selectedIndex]);

  function focusTab(index: number) {
    const item = items[(index + items.length) % items.length];
    if (!item) return;
    onValueChange(item.value);
    tabRefs.current[(index + items.length) % items.length]?.focus();
  }

  return (
    <div className={className}>
      {/* Its bottom line is an inset shadow, not a border: a scrolling list would clip the
          selected tab's underline, drawn over the line, if the line were outside it. */}
      <div
        ref={listRef}
        role="tablist"
        aria-label={label}
        className="relative mb-6 flex gap-1 overflow-x-auto shadow-[inset_0_-1px_0_var(--color-zinc-200)] [scrollbar-width:thin]"
      >
        {items.map((item, index) => {
          const isSelected = item.value === selected?.value;
          return (
            <button
              key={item.value}
              ref={(element) => {
                tabRefs.current[index] = element;
              }}
              type="button"
              role="tab"
              id={`${baseId}-tab-${item.value}`}
              aria-selected={isSelected}
              aria-controls={`${baseId}-panel-${item.value}`}
              tabIndex={isSelected ? 0 : -1}
              onClick={() => onValueChange(item.value)}
              onKeyDown={(event) => {
                if (event.key === 'ArrowRight') focusTab(index + 1);
                else if (event.key === 'ArrowLeft') focusTab(index - 1);
                else if (event.key === 'Home') focusTab(0);
                else if (event.key === 'End') focusTab(items.length - 1);
                else return;
                event.preventDefault();
              }}
              className={cn(
                'shrink-0 whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-accent-200',
                isSelected
                  ? 'border-accent-600 text-accent-700'
                  : 'border-transparent text-zinc-500 hover:text-zinc-800',
              )}
            >
              {item.label}
            </button>
          );
        })}
      </div>
      {selected ? (
        <div
          role="tabpanel"
          id={`${baseId}-panel-${selected.value}`}
          aria-labelledby={`${baseId}-tab-${selected.value}`}
        >
          {selected.content}
        </div>
      ) : null}
    </div>
  );
}
