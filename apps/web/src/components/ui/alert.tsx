import * as React from 'react';

import { cn } from '~/lib/utils';

const TONES = {
  danger: 'border-red-200 bg-red-50 text-red-800',
  warning: 'border-amber-200 bg-amber-50 text-amber-900',
};

/** A banner with role="alert": an icon, a title in bold and an optional detail below it. */
export function Alert({
  icon: Icon,
  title,
  children,
  tone = 'danger',
  className,
}: {
  icon: React.ComponentType<{ className?: string; 'aria-hidden'?: boolean }>;
  title: React.ReactNode;
  children?: React.ReactNode;
  tone?: keyof typeof TONES;
  className?: string;
}) {
  return (
    <div
      role="alert"
      className={cn('flex gap-3 rounded-lg border text-sm', TONES[tone], className)}
    >
      <Icon className="mt-0.5 size-5 shrink-0" aria-hidden />
      <div>
        <p className="font-medium">{title}</p>
        {children}
      </div>
    </div>
  );
}
