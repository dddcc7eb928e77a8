'use client';

import { createAuthClient } from 'better-auth/react';

/**
 * The browser side of better-auth. It talks to /api/auth/* on the same origin, so no base
 * URL is configured here.
 */
export const authClient = createAuthClient();

export const { signIn, signUp, signOut, useSession } = authClient;
