/** GET /reco/{model_name}/{user_id}: the recommendation itself. */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { RECOMMENDATION_ID_HEADER } from '../contracts';
import { serveArm, type Experiments } from '../experiments';
import type { RecentRecommendations } from '../experiments/recent';
import type { ModelLookup, Recommender } from '../models/types';
import { requestStages } from '../observability/tracing';
import type { RecoFields } from './locals';
import type { BearerCheck } from './auth';
import type { AuthThrottle } from './auth-throttle';
import { errors } from './errors';
import { requireKey } from './require-key';
import { parseUserId } from './user-id';

import type { RecoResponse } from './schemas';

export type { RecoResponse };

type RecoParams = { model_name: string; user_id: string };

export interface RecoRouteOptions {
  models: ModelLookup;
  /** A/B experiments, served under their own names (`/reco/<experiment>/<user_id>`). */
  experiments?: Experiments | undefined;
  /** Where an experiment recommendation's arm is remembered for its feedback lines. */
  recent?: RecentRecommendations | undefined;
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
export function recoHandler({ models, experiments, recent, k, isAuthorized, throttle }: RecoRouteOptions): RequestHandler<RecoParams> {
  return (req: Request<RecoParams>, res: Response) => {
    const { model_name: modelName, user_id: rawUserId } = req.params;
    // The request's reco facts, written once: the lifecycle puts them on the access line and
    // the server span (request-lifecycle.ts). Set before auth, so even a rejected request
    // says which model it asked for. The model name is client text: clipped like the path.
    const reco: RecoFields = { model: modelName.slice(0, 128), k };
    res.locals.reco = reco;
    requireKey(req, isAuthorized, throttle);
    const userId = parseUserId(rawUserId);
    reco.user_id = userId;
    const model = resolveModel(modelName, userId, reco);
    reco.model = model.name;
    reco.model_version = model.version;
    const result = model.recommend(userId, k, requestStages());
    reco.items_count = result.items.length;
    reco.cold_start = result.coldStart;
    reco.fallback = result.fallback;
    // randomUUID draws from a pre-filled entropy cache: well under a microsecond.
    const recommendationId = randomUUID();
    reco.recommendation_id = recommendationId;
    if (reco.arm !== undefined && reco.experiment !== undefined) {
      recent?.remember(recommendationId, { experiment: reco.experiment, arm: reco.arm, model_version: reco.model_version });
    }
    const body: RecoResponse = { user_id: userId, items: result.items };
    res.setHeader(RECOMMENDATION_ID_HEADER, recommendationId);
    res.json(body);
  };

  /** A model name, or an experiment name resolved through the user's arm (`reco` learns which). */
  function resolveModel(name: string, userId: number, reco: RecoFields): Recommender {
    const experiment = experiments?.get(name);
    if (experiment === undefined) {
      // The public path takes model names only: a ref (`knn@staging`) is for configs and tools.
      const model = name.includes('@') ? undefined : models.get(name);
      if (model === undefined) throw errors.modelNotFound(name);
      return model;
    }
    const { arm, model } = serveArm(experiment, userId, models);
    reco.experiment = experiment.name;
    reco.arm = arm.name;
    // Checked at start-up; only a registry change since then can make a reference dangle.
    if (model === undefined) throw errors.armUnavailable(experiment.name, arm.name);
    return model;
  }
}
