/**
 * The one observer of every request. One clock reading at entry, one `close` listener, one
 * `RequestOutcome` built once when the response is done (or the client went away), handed
 * to a fixed list of sinks in a fixed order:
 *
 *   1. the server span ends (tracing on)          observability/tracing/http.ts  endServerSpan
 *   2. the access line is written                 ./access-log.ts                writeAccessLine
 *   3. the request metrics are recorded (on)      ./request-metrics.ts           recordRequest
 *
 * All three take their duration from the same two readings of `process.hrtime.bigint()`
 * (entry, close): the access line's `event.duration`, the latency histogram's observation
 * and the span's start and end are one interval.
 *
 * A new per-request fact (model version, A/B arm, profile id) is ONE line: a field of
 * `RecoFields` in ./locals.ts, set by the handler that knows it (`res.locals.reco`). The
 * access line writes `reco.*` and the server span gets a `reco.*` attribute per field without
 * further change. (Metric labels are chosen one by one in recordRequest: every label value
 * is a time series, so nothing reaches a label by default.)
 */
import { context } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ServiceMetrics } from '../observability/metrics';
import { endServerSpan, serverSpans, type ServerSpan, type TraceIds } from '../observability/tracing';
import { writeAccessLine } from './access-log';
import type { RequestFailure } from './errors';
import type { RecoFields } from './locals';
import { recordRequest } from './request-metrics';

/** Everything the sinks know about one request; built once, read-only for them. */
export interface RequestOutcome {
  method: string;
  /** As received (each sink clips/redacts what it writes); undefined when the parser got no request line. */
  path: string | undefined;
  status: number;
  /** `process.hrtime.bigint()` at entry; the end is `startedAt + durationNs`. */
  startedAt: bigint;
  durationNs: bigint;
  /** The client went away before the response was complete. */
  aborted: boolean;
  /** The matched route's template (`/reco/:model_name/:user_id`); undefined when none matched. */
  route: string | undefined;
  /** What the reco route knew (see locals.ts); undefined for other routes. */
  reco: RecoFields | undefined;
  /** Set for every 4xx/5xx the error handler answered, and for parser rejections. */
  failure: RequestFailure | undefined;
  /** The server span's ids (also for a trace the sampler dropped: the response names it). */
  trace: TraceIds | undefined;
  /** The trace id when the trace is sampled (an exemplar must lead to an exported trace). */
  sampledTraceId: string | undefined;
  clientIp: string | undefined;
  userAgent: string | undefined;
  /** Only for requests Node's HTTP parser rejected: its error code (HPE_…, ERR_HTTP_REQUEST_TIMEOUT). */
  rejectedBy?: string;
}

/** The matched route's template, from Express's req.route (set during dispatch, kept after). */
function routeTemplate(req: Request): string | undefined {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : undefined;
}

/** The outcome of a request whose response just closed. */
export function outcomeOf(req: Request, res: Response, startedAt: bigint, endedAt: bigint, span: ServerSpan | undefined): RequestOutcome {
  const locals = res.locals;
  return {
    method: req.method,
    path: req.path,
    status: res.statusCode,
    startedAt,
    durationNs: endedAt - startedAt,
    aborted: !res.writableFinished,
    route: routeTemplate(req),
    reco: locals.reco,
    failure: locals.failure,
    trace: span?.ids,
    sampledTraceId: span?.sampled === true ? span.ids.traceId : undefined,
    clientIp: req.socket.remoteAddress,
    userAgent: req.headers['user-agent'],
  };
}

/** Runs the rest of the chain (`next`) for the lifecycle, around it (continuous profiling). */
export type ChainRunner = (req: Request, res: Response, span: ServerSpan | undefined, next: NextFunction) => void;

export interface LifecycleOptions {
  /** Prometheus metrics; undefined when METRICS_PORT=0 (no per-request cost then). */
  metrics?: ServiceMetrics | undefined;
  /**
   * Runs the rest of the chain instead of calling `next` directly (src/profiling/request.ts).
   * Here rather than as a middleware of its own: every Express layer is a router dispatch
   * per request.
   */
  chain?: ChainRunner | undefined;
}

/** The first middleware of the app: everything else runs inside its span context (tracing on). */
export function requestLifecycle({ metrics, chain }: LifecycleOptions = {}): RequestHandler {
  // Resolved once: with tracing off there is no span code on the request path at all.
  const spans = serverSpans();
  return (req: Request, res: Response, next: NextFunction) => {
    const startedAt = process.hrtime.bigint();
    const span = spans === undefined ? undefined : spans.start(req, res, startedAt);
    metrics?.requestStarted();
    // An http.ServerResponse always emits 'close', after 'finish' when the response was
    // complete, so one listener sees both cases; unfinished means the client went away.
    res.once('close', () => {
      const outcome = outcomeOf(req, res, startedAt, process.hrtime.bigint(), span);
      if (span !== undefined) endServerSpan(span, outcome);
      writeAccessLine(outcome);
      if (metrics !== undefined) recordRequest(metrics, outcome);
    });
    // A recorded request runs the rest of the chain inside its server span's context.
    if (chain !== undefined) {
      if (span?.context === undefined) chain(req, res, span, next);
      else context.with(span.context, chain, undefined, req, res, span, next);
    } else if (span?.context === undefined) next();
    else context.with(span.context, next);
  };
}
