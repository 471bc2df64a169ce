/**
 * The lifecycle's metrics sink (request-lifecycle.ts): hands the request's outcome to the
 * metrics, with the sampled trace id as exemplar. The per-request cost is a few Map updates
 * (fast-metrics.ts); the clock readings are the lifecycle's.
 */
import type { ServiceMetrics } from '../observability/metrics';
import type { RequestOutcome } from './request-lifecycle';

export function recordRequest(metrics: ServiceMetrics, outcome: RequestOutcome): void {
  const reco = outcome.reco;
  metrics.requestDone({
    method: outcome.method,
    route: outcome.route,
    statusCode: outcome.status,
    durationSeconds: Number(outcome.durationNs) / 1e9,
    aborted: outcome.aborted,
    traceId: outcome.sampledTraceId,
    ...(reco === undefined
      ? {}
      : {
          reco: {
            model: reco.model,
            errorKey: outcome.failure?.key,
            coldStart: reco.cold_start,
            fallback: reco.fallback,
            arm: reco.arm,
            modelVersion: reco.model_version,
          },
        }),
  });
}
