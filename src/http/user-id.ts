/**
 * user_id as RecoServiceTemplate treats it: a plain non-negative decimal integer (422
 * otherwise), and ids above 10^9 are a well-formed request for a user we cannot have (404).
 */
import { errors } from './errors';

export const MAX_USER_ID = 1_000_000_000;
// ASCII digits only: `\d` without the `u` flag excludes other scripts' digits, and the
// anchors exclude signs, spaces, exponents and hex prefixes.
const PLAIN_DECIMAL = /^[0-9]+$/;

export function parseUserId(raw: string): number {
  if (!PLAIN_DECIMAL.test(raw)) throw errors.invalidUserId();
  const significant = raw.replace(/^0+(?=\d)/, '');
  // More than 10 significant digits is above 10^9 whatever they are, and would lose
  // precision as a number.
  if (significant.length > 10) throw errors.userNotFound(raw);
  const id = Number(significant);
  if (id > MAX_USER_ID) throw errors.userNotFound(raw);
  return id;
}
