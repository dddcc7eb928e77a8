/** The path back to an invitation's page after signing in or up (only such a path; for server and browser). */
export function invitationReturnPath(token: string | undefined): string | undefined {
  return token && /^[A-Za-z0-9_-]{43}$/.test(token) ? `/invite/${token}` : undefined;
}
