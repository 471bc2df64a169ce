/**
 * The one per-request metrics hook: counts the request in flight, and when the response is
 * done (its 'close', which also fires for aborted requests) hands what the handlers left on
 * `res.locals` to the metrics, with the sampled trace id as exemplar. Mounted right after the
 * access log; the per-request cost is two clock reads and a few Map updates
 * (fast-metrics.ts).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ModelLookup, Recommender } from '../models/types';
import type { ServiceMetrics } from '../observability/metrics';
import { sampledTraceId } from '../observability/tracing';

export function requestMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const startedAt = performance.now();
    // Read here, inside the request's span context (gone by 'close'); only sampled traces
    // become exemplars, so every exemplar leads to a trace the collector received.
    const traceId = sampledTraceId();
    metrics.requestStarted();
    res.once('close', () => {
      const locals = res.locals;
      const reco = locals.reco;
      metrics.requestDone({
        method: req.method,
        // Express sets req.route to the matched route; its path is the template, never the URL.
        route: (req.route as { path?: unknown } | undefined)?.path as string | undefined,
        statusCode: res.statusCode,
        durationSeconds: (performance.now() - startedAt) / 1000,
        aborted: !res.writableFinished,
        traceId,
        ...(reco === undefined
          ? {}
          : {
              reco: {
                model: reco.model,
                errorKey: locals.failure?.key,
                coldStart: reco.cold_start,
                fallback: reco.fallback,
              },
            }),
      });
    });
    next();
  };
}

/**
 * The models, each `recommend` call timed into `recoscope_model_call_duration_seconds` (also
 * when it throws), with the request's trace id as exemplar when tracing is on.
 */
export function timedModels(models: ModelLookup, metrics: ServiceMetrics): ModelLookup {
  const wrapped = new WeakMap<Recommender, Recommender>();
  const wrap = (model: Recommender): Recommender => ({
    name: model.name,
    recommend(userId, k, stages) {
      const startedAt = performance.now();
      try {
        return model.recommend(userId, k, stages);
      } finally {
        metrics.modelCall(model.name, (performance.now() - startedAt) / 1000, sampledTraceId());
      }
    },
  });
  return {
    get: (name) => {
      const model = models.get(name);
      if (model === undefined) return undefined;
      let timed = wrapped.get(model);
      if (timed === undefined) {
        timed = wrap(model);
        wrapped.set(model, timed);
      }
      return timed;
    },
    names: () => models.names(),
  };
}
