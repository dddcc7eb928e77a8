'use client';

import { usePathname } from 'next/navigation';

import { NavLink } from './nav-link';

/** Tabs between the pages of one section (settings, admin); the current page is marked. */
export function SubNav({
  label,
  items,
}: {
  label: string;
  items: { href: string; label: string; exact?: boolean }[];
}) {
  const pathname = usePathname();
  return (
    // Scrolls sideways on a narrow screen; its line is an inset shadow, so that the scrolling
    // does not clip the current page's underline drawn over it.
    <nav
      aria-label={label}
      className="mb-6 flex gap-1 overflow-x-auto shadow-[inset_0_-1px_0_var(--color-zinc-200)]"
    >
      {items.map((item) => {
        const isActive = item.exact
          ? pathname === item.href
          : pathname === item.href || pathname.startsWith(`${item.href}/`);
        return (
          <NavLink key={item.href} href={item.href} isActive={isActive} className="py-2">
            {item.label}
          </NavLink>
        );
      })}
    </nav>
  );
}
