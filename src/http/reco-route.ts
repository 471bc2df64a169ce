/** GET /reco/{model_name}/{user_id}: the recommendation itself. */
import type { Request, RequestHandler, Response } from 'express';
import type { ModelLookup } from '../models/types';
import { annotateRequest, requestStages } from '../observability/tracing';
import type { RecoFields } from './access-log';
import { errors } from './errors';
import { parseUserId } from './user-id';

export interface RecoResponse {
  user_id: number;
  items: number[];
}

type RecoParams = { model_name: string; user_id: string };

/**
 * Runs before auth, so even a rejected request's access line says which model it asked for.
 * The model name is client text: it is logged, clipped by the access log like the path.
 */
export function recoContext(k: number): RequestHandler<RecoParams> {
  return (req: Request<RecoParams>, res: Response, next) => {
    const reco: RecoFields = { model: req.params.model_name.slice(0, 128), k };
    res.locals.reco = reco;
    next();
  };
}

export function recoHandler(models: ModelLookup, k: number): RequestHandler<RecoParams> {
  return (req: Request<RecoParams>, res: Response) => {
    const { model_name: modelName, user_id: rawUserId } = req.params;
    const reco = res.locals.reco as RecoFields;
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
