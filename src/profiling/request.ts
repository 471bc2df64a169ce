/**
 * The request path's one hook into profiling: the request lifecycle (the app's first
 * middleware, src/http/request-lifecycle.ts) runs the rest of the chain through it, with the
 * request's server span when tracing is on. It gives the request a
 * sample context (trace and span id of a sampled trace; the route template and model name once
 * the chain has run) and puts the current profile id on the server span.
 */
import type { ChainRunner } from '../http/request-lifecycle';
import { PROFILE_ID_ATTRIBUTE } from './labels';
import type { ContinuousProfiler, SampleContext } from './profiler';

let active: ContinuousProfiler | undefined;

/** The process's profiler (main.ts), or undefined to profile nothing. */
export function setActiveProfiler(profiler: ContinuousProfiler | undefined): void {
  active = profiler;
}

/** The chain runner, or undefined when profiling is off (install nothing, cost nothing). */
export function requestProfiling(): ChainRunner | undefined {
  const profiler = active;
  if (profiler === undefined) return undefined;
  return (req, res, span, next) => {
    // Sampled: the sampler kept the trace, so its spans are exported and can be looked up.
    const recorded = span?.sampled === true ? span.request : undefined;
    recorded?.span.setAttribute(PROFILE_ID_ATTRIBUTE, profiler.profileId());
    const ids = recorded === undefined ? undefined : span?.ids;
    const ctx: SampleContext = { traceId: ids?.traceId, spanId: ids?.spanId, route: undefined, model: undefined };
    profiler.run(ctx, next);
    // The chain's synchronous work has returned: the request was routed and the reco route
    // has named its model. Express sets req.route when a route matched: its template, never
    // the raw path.
    const route = (req.route as { path?: unknown } | undefined)?.path;
    if (typeof route === 'string') ctx.route = route;
    ctx.model = res.locals.reco?.model;
  };
}
