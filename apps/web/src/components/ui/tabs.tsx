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
  const tabRefs = React.useRef<(HTMLButtonElement | null)[]>([]);
  const selected = items.find((item) => item.value === value) ?? items[0];

  function focusTab(index: number) {
    const item = items[(index + items.length) % items.length];
    if (!item) return;
    onValueChange(item.value);
    tabRefs.current[(index + items.length) % items.length]?.focus();
  }

  return (
    <div className={className}>
      <div role="tablist" aria-label={label} className="mb-6 flex gap-1 border-b border-zinc-200">
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
                '-mb-px border-b-2 px-3 py-2 text-sm font-medium transition-colors focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-accent-200',
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
