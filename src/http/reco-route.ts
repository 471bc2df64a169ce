/** GET /reco/{model_name}/{user_id}: the recommendation itself. */
import type { Request, RequestHandler, Response } from 'express';
import type { ModelLookup } from '../models/types';
import { annotateRequest, requestStages } from '../observability/tracing';
import type { RecoFields } from './locals';
import type { BearerCheck } from './auth';
import { errors } from './errors';
import { parseUserId } from './user-id';

export interface RecoResponse {
  user_id: number;
  items: number[];
}

type RecoParams = { model_name: string; user_id: string };

export interface RecoRouteOptions {
  models: ModelLookup;
  k: number;
  isAuthorized: BearerCheck;
}

/**
 * One handler rather than context → auth → recommend middlewares: each Express layer costs
 * a router dispatch per request (and a wrapper span check when tracing), on a route whose
 * whole budget is a few hundred microseconds.
 */
export function recoHandler({ models, k, isAuthorized }: RecoRouteOptions): RequestHandler<RecoParams> {
  return (req: Request<RecoParams>, res: Response) => {
    const { model_name: modelName, user_id: rawUserId } = req.params;
    // Set before auth, so even a rejected request's access line says which model it asked
    // for. The model name is client text: clipped like the path.
    const reco: RecoFields = { model: modelName.slice(0, 128), k };
    res.locals.reco = reco;
    if (!isAuthorized(req.headers.authorization)) throw errors.unauthorized();
    const userId = parseUserId(rawUserId);
    reco.user_id = userId;
    const model = models.get(modelName);
    if (model === undefined) throw errors.modelNotFound(modelName);
    annotateRequest({ 'reco.model': modelName, 'reco.user_id': userId, 'reco.k': k });
    const result = model.recommend(userId, k, requestStages());
    reco.items_count = result.items.length;
    reco.cold_start = result.coldStart;
    reco.fallback = result.fallback;
    const body: RecoResponse = { user_id: userId, items: result.items };
    res.json(body);
  };
}
