/**
 * The models, each `recommend` call timed into `recoscope_model_call_duration_seconds` (also
 * when it throws), with the request's trace id as exemplar when tracing is on.
 */
import type { ServiceMetrics } from '../observability/metrics';
import { sampledTraceId } from '../observability/tracing';
import type { ModelLookup, Recommender } from './types';

export function timedModels(models: ModelLookup, metrics: ServiceMetrics): ModelLookup {
  const wrapped = new WeakMap<Recommender, Recommender>();
  const wrap = (model: Recommender): Recommender => ({
    name: model.name,
    version: model.version,
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
