/**
 * POST /admin/models/reload: re-read the model registry and swap in what its aliases name now
 * (src/models/serving.ts), like SIGHUP but with an answer. Behind its own key (ADMIN_API_KEY),
 * never the API key: whoever may ask for recommendations may not change what serves them.
 * 200 with what changed; 409 when a version was refused (the old one keeps serving).
 */
import type { RequestHandler } from 'express';
import type { ReloadReport } from '../models/serving';
import type { BearerCheck } from './auth';
import type { AuthThrottle } from './auth-throttle';
import { errors, HttpError } from './errors';

export interface AdminReloadOptions {
  isAuthorized: BearerCheck;
  reload: () => Promise<ReloadReport>;
  throttle?: AuthThrottle;
}

export function adminReloadHandler({ isAuthorized, reload, throttle }: AdminReloadOptions): RequestHandler {
  return async (req, res) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    if (throttle !== undefined && throttle.size() > 0) {
      const wait = throttle.retryAfterSeconds(address);
      if (wait > 0) throw errors.tooManyAuthFailures(wait);
    }
    if (!isAuthorized(req.headers.authorization)) {
      throttle?.recordFailure(address);
      throw errors.unauthorized();
    }
    const report = await reload();
    if (report.refused.length > 0) {
      const why = report.refused.map((r) => `${r.ref}: ${r.to} refused (${r.reason})${r.from === null ? '' : `, ${r.from} keeps serving`}`);
      throw new HttpError(409, 'http_exception', `model reload refused: ${why.join('; ')}`.slice(0, 2000));
    }
    res.json({ changed: report.changed, serving: report.serving });
  };
}
