/** The Bearer check of every keyed route (reco, feedback), behind one wrong-key throttle. */
import type { Request } from 'express';
import type { BearerCheck } from './auth';
import type { AuthThrottle } from './auth-throttle';
import { errors } from './errors';

/**
 * Throws 401 for a request without an Authorization header (no key tried, so nothing to
 * throttle: the answer tells nothing about the key), 429 for a throttled address (before its
 * key is checked, so it learns nothing) and 401 for a wrong key (fed to the throttle). With
 * nobody tracked (the normal case) the client address is not even computed.
 */
export function requireKey(req: Request, isAuthorized: BearerCheck, throttle: AuthThrottle | undefined): void {
  if (req.headers.authorization === undefined) throw errors.unauthorized();
  if (throttle !== undefined && throttle.size() > 0) {
    const wait = throttle.retryAfterSeconds(clientAddress(req));
    if (wait > 0) throw errors.tooManyAuthFailures(wait);
  }
  if (!isAuthorized(req.headers.authorization)) {
    throttle?.recordFailure(clientAddress(req));
    throw errors.unauthorized();
  }
}

/** Express's req.ip: the TCP peer, or what a trusted proxy says (TRUST_PROXY). */
function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
