/**
 * Bearer-token check for the /reco routes, in constant time.
 *
 * The timing argument. What an attacker controls is the presented token; what must not leak
 * is the key. Per check the work is:
 *  1. the header parse and `Buffer.from(token)`: proportional to the token's length, which
 *     the attacker chose and knows, so it tells nothing about the key;
 *  2. exactly one `timingSafeEqual` over `expected.length` bytes (the key's length):
 *     presented bytes against the key when the lengths are equal, otherwise the key against
 *     a same-length decoy. Either way the same number of bytes is compared in constant time,
 *     so no prefix of the key can be found by timing.
 * The one branch on "same length?" is a single integer comparison; at most it says whether
 * the presented length equals the key's, never any of the key's bytes. (The API key's length
 * is not its secret: API_KEY is validated to be long enough that its bytes carry the
 * entropy.)
 *
 * Cheaper than the previous scheme, which hashed the presented token with SHA-256 on every
 * request so the compared buffers always had equal length: that hash was 4.6 % of all CPU
 * samples in a /reco/knn profile; `npm run bench:auth` measures both in one run.
 */
import { timingSafeEqual } from 'node:crypto';

/** Does an `Authorization` header carry `Bearer <apiKey>`? */
export type BearerCheck = (authorization: string | undefined) => boolean;

const BEARER = /^Bearer +(\S+) *$/i;

export function bearerCheck(apiKey: string): BearerCheck {
  const expected = Buffer.from(apiKey, 'utf8');
  // Same length as the key, never equal to it: what a wrong-length token is compared with.
  const decoy = Buffer.from(expected.map((b) => b ^ 0xff));
  return (authorization) => {
    const token = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (token === undefined) return false;
    const presented = Buffer.from(token, 'utf8');
    if (presented.length === expected.length) return timingSafeEqual(presented, expected);
    timingSafeEqual(decoy, expected);
    return false;
  };
}
