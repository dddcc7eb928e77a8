import { cn } from '~/lib/utils';

export function Logo({ size = 'md', className }: { size?: 'md' | 'lg'; className?: string }) {
  return (
    <span
      className={cn(
        'inline-flex items-center gap-2 font-semibold tracking-tight text-zinc-900',
        size === 'lg' ? 'text-2xl' : 'text-lg',
        className,
      )}
    >
      <svg viewBox="0 0 32 32" className={size === 'lg' ? 'size-9' : 'size-7'} aria-hidden="true">
        <rect x="3" y="5" width="26" height="22" rx="5" className="fill-accent-600" />
        <ellipse cx="16" cy="12" rx="8" ry="3" className="fill-white/90" />
        <path
          d="M8 12v8c0 1.7 3.6 3 8 3s8-1.3 8-3v-8"
          className="fill-none stroke-white/90"
          strokeWidth="2"
        />
        <path
          d="M8 16c0 1.7 3.6 3 8 3s8-1.3 8-3"
          className="fill-none stroke-white/60"
          strokeWidth="2"
        />
      </svg>
      Coffer
    </span>
  );
}
