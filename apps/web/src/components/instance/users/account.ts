import { type DatabaseUserInfo } from '@coffer/contracts';

/** A database account: a user is its name and host together. */
export type Account = Pick<DatabaseUserInfo, 'name' | 'host'>;

export const HOST_HINT =
  '% (anywhere), localhost, an IPv4 address, a pattern such as 10.0.%, or 10.0.0.0/255.255.0.0';

export function accountOf(user: Account): string {
  return `${user.name}@${user.host}`;
}

/** The first message per field of a zod error, by top-level field name. */
export function issuesByField(
  issues: { path: PropertyKey[]; message: string }[],
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) errors[String(issue.path[0] ?? '_')] ??= issue.message;
  return errors;
}

/** The first message per field of the API's field errors, by top-level field name. */
export function firstOf(fieldErrors: Record<string, string[]>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [key, messages] of Object.entries(fieldErrors))
    if (messages[0]) errors[key.split('.')[0]!] ??= messages[0];
  return errors;
}
