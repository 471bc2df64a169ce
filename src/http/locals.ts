/**
 * What a request's handlers leave on `res.locals` for the access line (and, later, metrics):
 * typed once here by augmenting Express's `Locals`, so the writer (reco route, error handler,
 * access-log middleware) and the readers share one definition.
 */
import type { TraceIds } from '../observability/tracing';
import type { RequestFailure } from './errors';

/** Filled in by the reco route; what the access line says about the recommendation. */
export interface RecoFields {
  model?: string;
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
      /** Set by the tracing middleware (its server span), read by the access line. */
      traceIds?: TraceIds;
    }
  }
}
