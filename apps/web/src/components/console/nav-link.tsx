'use client';

import Link from 'next/link';
import type * as React from 'react';

import { cn } from '~/lib/utils';

/** A navigation tab: underlined in the accent colour and marked aria-current while its page is shown. */
export function NavLink({
  href,
  isActive,
  className,
  children,
}: {
  href: string;
  isActive: boolean;
  className: string;
  children: React.ReactNode;
}) {
  return (
    <Link
      href={href}
      aria-current={isActive ? 'page' : undefined}
      className={cn(
        'shrink-0 whitespace-nowrap border-b-2 px-3 text-sm font-medium transition-colors',
        className,
        isActive
          ? 'border-accent-600 text-zinc-900'
          : 'border-transparent text-zinc-500 hover:text-zinc-800',
      )}
    >
      {children}
    </Link>
  );
}
