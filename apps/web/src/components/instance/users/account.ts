import { type DatabaseUserInfo } from '@coffer/contracts';

/** A database account: a user is its name and host together. */
export type Account = Pick<DatabaseUserInfo, 'name' | 'host'>;

export const HOST_HINT =
  '% (anywhere), localhost, an IPv4 address, a pattern such as 10.0.%, or 10.0.0.0/255.255.0.0';

export function accountOf(user: Account): string {
  return `${user.name}@${user.host}`;
}
