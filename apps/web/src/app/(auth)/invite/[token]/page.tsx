import type { Metadata } from 'next';

import { getSession } from '~/server/session/get-session';
import { api } from '~/trpc/server';
import { InvitationCard } from './invitation-card';

export const metadata: Metadata = { title: 'Invitation' };

/** An invitation link: what it invites to, and accepting it (after signing in or up). */
export default async function InvitationPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const [invitation, session] = await Promise.all([
    api.invitation.get({ token }).catch(() => null),
    getSession(),
  ]);
  return (
    <InvitationCard
      token={token}
      invitation={invitation}
      signedInAs={session ? session.user.email : null}
    />
  );
}
