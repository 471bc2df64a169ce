/** Bearer-token check for the /reco routes, in constant time. */
import { hash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  // Hashing first gives equal-length buffers, so timingSafeEqual never leaks the key length.
  // The one-shot crypto.hash is half the cost of createHash().update().digest() per request.
  return hash('sha256', value, 'buffer');
}

/** Does an `Authorization` header carry `Bearer <apiKey>`? */
export type BearerCheck = (authorization: string | undefined) => boolean;

export function bearerCheck(apiKey: string): BearerCheck {
  const expected = digest(apiKey);
  return (authorization) => {
    const token = authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
    return token !== undefined && timingSafeEqual(digest(token), expected);
  };
}
