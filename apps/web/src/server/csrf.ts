import 'server-only';

import { env } from '~/env';

const consoleOrigin = new URL(env.BETTER_AUTH_URL).origin;

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * Why a request that rides on the session cookie must be refused (CSRF), or null: it must
 * say it comes from the console's own pages (its Origin, or else its Referer, is the
 * console's), as better-auth requires of its own routes. A request without cookies (a script
 * with an API token) carries no ambient authority, and one with a bearer token is that
 * token's (a page of another site cannot send one without the console agreeing to CORS).
 */
export function crossOriginRefusal(headers: Headers): string | null {
  if (!headers.has('cookie') || /^bearer /i.test(headers.get('authorization') ?? '')) return null;
  const claimed = headers.get('origin') || headers.get('referer') || '';
  if (!claimed || claimed === 'null') return 'Missing or null Origin';
  return originOf(claimed) === consoleOrigin ? null : 'Invalid origin';
}

/** `handler`, except that requests `crossOriginRefusal` refuses get 403 INVALID_ORIGIN (as better-auth answers). */
export function refuseCrossOrigin(
  handler: (request: Request) => Promise<Response>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const refusal = crossOriginRefusal(request.headers);
    if (refusal === null) return handler(request);
    return Response.json(
      {
        code: refusal === 'Invalid origin' ? 'INVALID_ORIGIN' : 'MISSING_OR_NULL_ORIGIN',
        message: refusal,
      },
      { status: 403 },
    );
  };
}
