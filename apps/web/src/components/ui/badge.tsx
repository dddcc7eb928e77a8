import { cva, type VariantProps } from 'class-variance-authority';
import * as React from 'react';

import { cn } from '~/lib/utils';

const badgeVariants = cva(
  'inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
  {
    variants: {
      tone: {
        neutral: 'bg-zinc-50 text-zinc-700 ring-zinc-200',
        success: 'bg-emerald-50 text-emerald-700 ring-emerald-200',
        progress: 'bg-sky-50 text-sky-700 ring-sky-200',
        warning: 'bg-amber-50 text-amber-800 ring-amber-200',
        danger: 'bg-red-50 text-red-700 ring-red-200',
        accent: 'bg-accent-50 text-accent-700 ring-accent-200',
      },
    },
    defaultVariants: { tone: 'neutral' },
  },
);

export function Badge({
  className,
  tone,
  ...props
}: React.HTMLAttributes<HTMLSpanElement> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ tone }), className)} {...props} />;
}
