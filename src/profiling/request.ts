/**
 * The request path's one hook into profiling: a middleware placed right after the tracing
 * middleware (so the server span, when recorded, is the active span). It gives the request a
 * sample context (trace and span id of a sampled trace; the route template and model name once
 * the chain has run) and puts the current profile id on the server span.
 */
import { trace, TraceFlags } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { PROFILE_ID_ATTRIBUTE } from './labels';
import type { ContinuousProfiler, SampleContext } from './profiler';

let active: ContinuousProfiler | undefined;

/** The process's profiler (main.ts), or undefined to profile nothing. */
export function setActiveProfiler(profiler: ContinuousProfiler | undefined): void {
  active = profiler;
}

/** The middleware, or undefined when profiling is off (install nothing, cost nothing). */
export function requestProfiling(): RequestHandler | undefined {
  const profiler = active;
  if (profiler === undefined) return undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    const span = trace.getActiveSpan();
    const ids = span?.spanContext();
    const sampled = span !== undefined && span.isRecording() && ids !== undefined && (ids.traceFlags & TraceFlags.SAMPLED) !== 0;
    if (sampled) span.setAttribute(PROFILE_ID_ATTRIBUTE, profiler.profileId());
    const ctx: SampleContext = { traceId: sampled ? ids.traceId : undefined, spanId: sampled ? ids.spanId : undefined, route: undefined, model: undefined };
    profiler.run(ctx, next);
    // The chain's synchronous work has returned: the request was routed and the reco route
    // has named its model. Express sets req.route when a route matched: its template, never
    // the raw path.
    const route = (req.route as { path?: unknown } | undefined)?.path;
    if (typeof route === 'string') ctx.route = route;
    ctx.model = res.locals.reco?.model;
  };
}
