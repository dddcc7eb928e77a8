'use client';

import { LogOut } from 'lucide-react';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import { signOut } from '~/lib/auth-client';

export function UserMenu({ me }: { me: { name: string; email: string; isOperator: boolean } }) {
  const router = useRouter();
  const [isPending, setIsPending] = useState(false);
  return (
    <div className="flex items-center gap-3">
      <div className="hidden text-right sm:block">
        <div className="text-sm font-medium leading-tight text-zinc-800">{me.name}</div>
        <div className="text-xs leading-tight text-zinc-500">
          {me.email}
          {me.isOperator ? ' · operator' : ''}
        </div>
      </div>
      <Button
        variant="ghost"
        size="sm"
        isLoading={isPending}
        onClick={async () => {
          setIsPending(true);
          await signOut();
          router.replace('/sign-in');
          router.refresh();
        }}
      >
        {isPending ? null : <LogOut aria-hidden="true" />}
        Sign out
      </Button>
    </div>
  );
}
