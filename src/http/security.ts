/**
 * Response headers a reviewer expects on an API, and CORS.
 *
 * - `X-Content-Type-Options: nosniff` on every answer: a browser never second-guesses our
 *   `application/json` (X-Powered-By is disabled in app.ts).
 * - `Cache-Control: no-store` on /reco: recommendations are per user and behind a key, no
 *   shared cache (proxy, CDN, browser) may keep them.
 * - CORS is off by default: no `Access-Control-*` header at all, so browsers on other origins
 *   cannot read answers. With CORS_ORIGINS set, exactly those origins are allowed (echoed,
 *   with `Vary: Origin`), for GET with an `Authorization` header; a preflight from an allowed
 *   origin is answered 204. Credentials (cookies) are never allowed: the key is a header.
 */
import type { RequestHandler } from 'express';

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;

export function cors(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  const allowed = new Set(origins);
  return (req, res, next) => {
    // The answer depends on Origin whether or not this one is allowed.
    res.vary('Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', 'GET');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization');
      res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
      res.status(204).end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After, WWW-Authenticate');
    next();
  };
}
