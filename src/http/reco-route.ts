/** GET /reco/{model_name}/{user_id}: the recommendation itself. */
import type { Request, RequestHandler, Response } from 'express';
import type { ModelLookup } from '../models/types';
import { requestStages } from '../observability/tracing';
import type { RecoFields } from './locals';
import type { BearerCheck } from './auth';
import type { AuthThrottle } from './auth-throttle';
import { errors } from './errors';
import { parseUserId } from './user-id';

import type { RecoResponse } from './schemas';

export type { RecoResponse };

type RecoParams = { model_name: string; user_id: string };

export interface RecoRouteOptions {
  models: ModelLookup;
  k: number;
  isAuthorized: BearerCheck;
  /** Wrong-key throttle: checked before the key, fed by every 401. */
  throttle?: AuthThrottle;
}

/**
 * One handler rather than context → auth → recommend middlewares: each Express layer costs
 * a router dispatch per request (and a wrapper span check when tracing), on a route whose
 * whole budget is a few hundred microseconds.
 */
export function recoHandler({ models, k, isAuthorized, throttle }: RecoRouteOptions): RequestHandler<RecoParams> {
  return (req: Request<RecoParams>, res: Response) => {
    const { model_name: modelName, user_id: rawUserId } = req.params;
    // The request's reco facts, written once: the lifecycle puts them on the access line and
    // the server span (request-lifecycle.ts). Set before auth, so even a rejected request
    // says which model it asked for. The model name is client text: clipped like the path.
    const reco: RecoFields = { model: modelName.slice(0, 128), k };
    res.locals.reco = reco;
    // A throttled address is refused before its key is checked, so it learns nothing. With
    // nobody tracked (the normal case) the client address is not even computed.
    if (throttle !== undefined && throttle.size() > 0) {
      const wait = throttle.retryAfterSeconds(clientAddress(req));
      if (wait > 0) throw errors.tooManyAuthFailures(wait);
    }
    if (!isAuthorized(req.headers.authorization)) {
      throttle?.recordFailure(clientAddress(req));
      throw errors.unauthorized();
    }
    const userId = parseUserId(rawUserId);
    reco.user_id = userId;
    // The public path takes model names only: a ref (`knn@staging`) is for configs and tools.
    const model = modelName.includes('@') ? undefined : models.get(modelName);
    if (model === undefined) throw errors.modelNotFound(modelName);
    reco.model = model.name;
    reco.model_version = model.version;
    const result = model.recommend(userId, k, requestStages());
    reco.items_count = result.items.length;
    reco.cold_start = result.coldStart;
    reco.fallback = result.fallback;
    const body: RecoResponse = { user_id: userId, items: result.items };
    res.json(body);
  };
}

/** Express's req.ip: the TCP peer, or what a trusted proxy says (TRUST_PROXY). */
function clientAddress(req: Request<RecoParams>): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
