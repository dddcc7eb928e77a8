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
    <nav aria-label={label} className="mb-6 flex gap-1 border-b border-zinc-200">
      {items.map((item) => {
        const isActive = item.exact
          ? pathname === item.href
          : pathname === item.href || pathname.startsWith(`${item.href}/`);
        return (
          <NavLink key={item.href} href={item.href} isActive={isActive} className="-mb-px py-2">
            {item.label}
          </NavLink>
        );
      })}
    </nav>
  );
}
