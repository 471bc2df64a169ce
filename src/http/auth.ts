/** Bearer-token check for the /reco routes, in constant time. */
import { hash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { errors } from './errors';

function digest(value: string): Buffer {
  // Hashing first gives equal-length buffers, so timingSafeEqual never leaks the key length.
  // The one-shot crypto.hash is half the cost of createHash().update().digest() per request.
  return hash('sha256', value, 'buffer');
}

export function bearerAuth(apiKey: string): RequestHandler {
  const expected = digest(apiKey);
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    const token = match?.[1];
    if (token === undefined || !timingSafeEqual(digest(token), expected)) {
      next(errors.unauthorized());
      return;
    }
    next();
  };
}
