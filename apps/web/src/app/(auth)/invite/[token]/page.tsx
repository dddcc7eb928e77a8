import { TRPCError } from '@trpc/server';
import type { Metadata } from 'next';

import { getSession } from '~/server/session/get-session';
import { api } from '~/trpc/server';
import { InvitationCard } from './invitation-card';

export const metadata: Metadata = { title: 'Invitation' };

/** An invitation link: what it invites to, and accepting it (after signing in or up). */
export default async function InvitationPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const [{ invitation, refusal }, session] = await Promise.all([
    api.invitation.get({ token }).then(
      (found) => ({ invitation: found, refusal: null }),
      // Too many looks from this address: say so and when to come back, not "not valid".
      (error: unknown) => ({
        invitation: null,
        refusal:
          error instanceof TRPCError && error.code === 'TOO_MANY_REQUESTS' ? error.message : null,
      }),
    ),
    getSession(),
  ]);
  return (
    <InvitationCard
      token={token}
      invitation={invitation}
      refusal={refusal}
      signedInAs={session ? session.user.email : null}
    />
  );
}
