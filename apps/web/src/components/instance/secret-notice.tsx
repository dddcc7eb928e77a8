'use client';

import { Button } from '~/components/ui/button';
import { CopyButton } from '~/components/ui/copy-button';

/** A password shown once, with a copy button: Coffer never stores it and cannot show it again. */
export function SecretNotice({
  title,
  label,
  secret,
  onDone,
}: {
  title: string;
  /** The accessible name of the secret ("Password of app_user@%"). */
  label: string;
  secret: string;
  onDone: () => void;
}) {
  return (
    <section aria-label={title} className="rounded-lg border border-emerald-200 bg-emerald-50 p-4">
      <h3 className="text-sm font-semibold text-emerald-900">{title}</h3>
      <p className="mt-1 text-sm text-emerald-800">
        Copy the password now: it is shown only once, and Coffer never stores it.
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <code
          aria-label={label}
          className="min-w-0 flex-1 break-all rounded-md border border-emerald-200 bg-white px-3 py-2 font-mono text-sm text-zinc-900"
        >
          {secret}
        </code>
        <CopyButton value={secret} label="Copy password" />
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
