import {
  AllowedSourcesError,
  MAX_ALLOWED_CIDRS,
  parseAllowedSources as parseSources,
  privateSources,
  type AllowedSources,
} from '@coffer/contracts';

import { ComputeError } from './provider';

/**
 * Who may reach an instance's database port (Trove's `access: {is_public, allowed_cidrs}`).
 * The checks live in `@coffer/contracts` (the web app checks the same way when they are asked
 * for); a provider checks again and refuses with `ComputeError('INVALID')`.
 */
export { MAX_ALLOWED_CIDRS, privateSources, type AllowedSources };

/**
 * The sources in canonical form (lower-case, compressed IPv6, no duplicates), or a
 * `ComputeError('INVALID')` naming the first entry refused: not a CIDR, host bits set, more
 * than MAX_ALLOWED_CIDRS, or, on a private instance, a network outside the private ranges
 * (`0.0.0.0/0` included).
 */
export function parseAllowedSources(sources: AllowedSources): AllowedSources {
  try {
    return parseSources(sources);
  } catch (error) {
    if (error instanceof AllowedSourcesError) {
      throw new ComputeError('INVALID', error.message, { cause: error });
    }
    throw error;
  }
}
