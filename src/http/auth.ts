/** Bearer-token check for the /reco routes, in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { errors } from './errors';

function digest(value: string): Buffer {
  // Hashing first gives equal-length buffers, so timingSafeEqual never leaks the key length.
  return createHash('sha256').update(value, 'utf8').digest();
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
