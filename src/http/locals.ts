/**
 * What a request's handlers leave on `res.locals` for the request lifecycle's sinks:
 * typed once here by augmenting Express's `Locals`, so the writer (reco route, error handler,
 * access-log middleware) and the readers share one definition.
 */
import type { RequestFailure } from './errors';

/**
 * Filled in by the reco route: what the access line (`reco.*`) and the server span (`reco.*`
 * attributes) say about the recommendation. A new per-request fact (model version, A/B arm,
 * profile id) is one line here, set by the handler that knows it; see request-lifecycle.ts.
 */
export interface RecoFields {
  /** The model that served (resolved name, no `@`); before resolution the clipped requested name. */
  model?: string;
  /** The registry version of the model that served (its `Recommender.version`). */
  model_version?: string;
  /** Set when the path named an experiment (`/reco/<experiment>/<user_id>`): its name and the user's arm. */
  experiment?: string;
  arm?: string;
  /** Every 200 of the reco route: the `x-recommendation-id` header a feedback event names. */
  recommendation_id?: string;
  user_id?: number;
  /** gRPC requests by item history: how many item ids the basket had. */
  history_length?: number;
  k?: number;
  items_count?: number;
  cold_start?: boolean;
  fallback?: number;
  error_key?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares its Locals in this global namespace.
  namespace Express {
    interface Locals {
      /** Set by the reco route before auth, so even a rejected request says which model it asked for. */
      reco?: RecoFields;
      /** Set by the error handler for every 4xx/5xx. */
      failure?: RequestFailure;
    }
  }
}
