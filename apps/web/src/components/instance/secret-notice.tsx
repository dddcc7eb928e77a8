'use client';

import { Button } from '~/components/ui/button';
import { CopyButton } from '~/components/ui/copy-button';
import { cn } from '~/lib/utils';

/** A secret shown once, with a copy button: Coffer never stores it and cannot show it again. */
export function SecretNotice({
  title,
  label,
  secret,
  onDone,
  regionLabel = title,
  message = 'Copy the password now: it is shown only once, and Coffer never stores it.',
  copyLabel = 'Copy password',
  Heading = 'h3',
  secretClassName = 'text-sm',
}: {
  title: string;
  /** The accessible name of the secret ("Password of app_user@%"). */
  label: string;
  secret: string;
  onDone: () => void;
  /** The accessible name of the notice; its title by default. */
  regionLabel?: string;
  message?: string;
  copyLabel?: string;
  Heading?: 'h2' | 'h3';
  /** The secret's text size. */
  secretClassName?: string;
}) {
  return (
    <section
      aria-label={regionLabel}
      className="rounded-lg border border-emerald-200 bg-emerald-50 p-4"
    >
      <Heading className="text-sm font-semibold text-emerald-900">{title}</Heading>
      <p className="mt-1 text-sm text-emerald-800">{message}</p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <code
          aria-label={label}
          className={cn(
            'min-w-0 flex-1 break-all rounded-md border border-emerald-200 bg-white px-3 py-2 font-mono text-zinc-900',
            secretClassName,
          )}
        >
          {secret}
        </code>
        <CopyButton value={secret} label={copyLabel} />
        <Button variant="ghost" size="sm" onClick={onDone}>
          Done
        </Button>
      </div>
    </section>
  );
}

/** Why a panel shows nothing: the instance must be ACTIVE for its guest to answer. */
export function InactiveNotice({ status, what }: { status: string; what: string }) {
  return (
    <p className="rounded-lg border border-dashed border-zinc-300 bg-white px-4 py-6 text-center text-sm text-zinc-500">
      {what} can be managed while the instance is ACTIVE; it is {status} now.
    </p>
  );
}
