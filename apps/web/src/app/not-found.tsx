import Link from 'next/link';

import { buttonVariants } from '~/components/ui/button';

export default function NotFound() {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-3 px-4 text-center">
      <p className="text-sm font-semibold text-accent-600">404</p>
      <h1 className="text-2xl font-semibold text-zinc-900">Not found</h1>
      <p className="max-w-sm text-sm text-zinc-500">
        This page does not exist, or you do not have access to it.
      </p>
      <Link href="/" className={buttonVariants({ variant: 'secondary', className: 'mt-2' })}>
        Back to Coffer
      </Link>
    </main>
  );
}
