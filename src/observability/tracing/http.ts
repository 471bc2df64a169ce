/**
 * The request's server span and route span, started by our own Express middleware instead
 * of the generic http and Express instrumentations (which patch every layer and build
 * dozens of attributes per request; see docs/traces.md for the measured difference).
 *
 * Per request, with tracing on (started and ended by the request lifecycle,
 * src/http/request-lifecycle.ts, from its own two clock readings):
 *  - the W3C `traceparent` of the request (if any) is extracted, the sampler decides, and the
 *    response gets `x-trace-id` and a `traceparent` carrying the span's real trace flags
 *    (`-01` sampled, `-00` not);
 *  - a request the sampler drops stops there: no attributes, no context switch, no spans;
 *  - a recorded one runs the rest of the chain inside its server span's context, gets the
 *    semconv HTTP server attributes, and its span ends when the response closes, with the
 *    request's `reco.*` facts, its error group and (5xx) its exception.
 * `tracedRoute` wraps a route handler in the "request handler - <route>" span (the Express
 * instrumentation's name and attributes) and names the server span `GET <route>`.
 *
 * The span tree is the one the instrumentations produced:
 *   GET /reco/:model_name/:user_id   (SERVER)
 *   └─ request handler - /reco/:model_name/:user_id
 *      └─ reco.* stage spans (index.ts)
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type HrTime, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TraceIds } from './index';
import { TRACEPARENT_HEADER, TRACE_ID_HEADER } from '../../contracts';
import { isClientError, markFailed, REQUEST_TRACE, requestTrace, type RequestTrace } from './spans';
import { tracingRuntime } from './state';

/** A path is client input of any length; a span keeps enough to recognise it (as the access log). */
const MAX_PATH = 1024;

/** A request's server span as the lifecycle holds it (src/http/request-lifecycle.ts). */
export interface ServerSpan {
  ids: TraceIds;
  /** The sampler kept it: its spans are exported. */
  sampled: boolean;
  /** Only for a recorded request: the span, and the context the rest of the chain runs in. */
  request?: RequestTrace;
  context?: Context;
}

/** The facts endServerSpan needs (a structural subset of the lifecycle's RequestOutcome). */
export interface ServerSpanOutcome {
  status: number;
  startedAt: bigint;
  durationNs: bigint;
  aborted: boolean;
  /** The request's reco facts (src/http/locals.ts RecoFields): each a `reco.<name>` attribute. */
  reco: object | undefined;
  failure: { status: number; error: Error; groupingKey: string } | undefined;
}

/**
 * `process.hrtime.bigint()` and Unix time read together once: spans get their start and end
 * from the lifecycle's own two clock readings, so the span's duration is exactly the access
 * line's and the histogram's. Per reading: one BigInt subtraction, then plain numbers (exact
 * to the nanosecond for 2^53 ns, 104 days of uptime; to the microsecond long after).
 */
const HR_BASE = process.hrtime.bigint();
const EPOCH_BASE_MS = performance.timeOrigin + performance.now();
const EPOCH_BASE_S = Math.floor(EPOCH_BASE_MS / 1000);
const EPOCH_BASE_NS = Math.round((EPOCH_BASE_MS - EPOCH_BASE_S * 1000) * 1e6);

/** A `process.hrtime.bigint()` reading as OpenTelemetry's [seconds, nanoseconds] since the epoch. */
export function epochHrTime(hrtimeNs: bigint): HrTime {
  const ns = Number(hrtimeNs - HR_BASE) + EPOCH_BASE_NS;
  const s = Math.floor(ns / 1e9);
  return [EPOCH_BASE_S + s, ns - s * 1e9];
}

export interface ServerSpans {
  /** Starts the request's server span at `startedAt`; sets `x-trace-id` and `traceparent` on the response. */
  start(req: Request, res: Response, startedAt: bigint): ServerSpan;
}

/** The server span factory; undefined when tracing is off (nothing on the request path then). */
export function serverSpans(): ServerSpans | undefined {
  const rt = tracingRuntime();
  if (rt === undefined) return undefined;
  const tracer = rt.tracer;
  return {
    start(req: Request, res: Response, startedAt: bigint): ServerSpan {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, startTime: epochHrTime(startedAt) }, parent);
      const { traceId, spanId, traceFlags } = span.spanContext();
      res.setHeader(TRACE_ID_HEADER, traceId);
      // The span's real flags: -01 when the sampler kept it, -00 when it dropped it.
      const sampled = (traceFlags & TraceFlags.SAMPLED) !== 0;
      res.setHeader(TRACEPARENT_HEADER, `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`);
      const ids = { traceId, spanId };
      // Sampled out: nothing more to do, nothing to end (a non-recording span holds no state).
      if (!span.isRecording()) return { ids, sampled };
      // The semconv attributes a server span requires. Recommended ones the access line already
      // carries (user agent, client address, protocol version) stay there, one click away by
      // trace.id: every attribute is paid again in span creation and OTLP serialisation.
      const path = req.path;
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: req.method,
        [ATTR_URL_PATH]: path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path,
        [ATTR_URL_SCHEME]: 'http',
      });
      const request: RequestTrace = { span, errorTyped: false };
      return { ids, sampled, request, context: trace.setSpan(parent, span).setValue(REQUEST_TRACE, request) };
    },
  };
}

/** The lifecycle's first sink: the outcome's facts on the span, which ends at the outcome's end time. */
export function endServerSpan(server: ServerSpan, outcome: ServerSpanOutcome): void {
  const request = server.request;
  if (request === undefined) return;
  const span = request.span;
  const status = outcome.status;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  const reco = outcome.reco;
  if (reco !== undefined) {
    const fields = reco as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') span.setAttribute(`reco.${key}`, value);
    }
  }
  const failure = outcome.failure;
  if (failure !== undefined) {
    // The access line's error group, searchable on the trace; a 5xx also gets its exception.
    span.setAttribute('error.grouping_key', failure.groupingKey);
    if (failure.status >= 500 && !request.errorTyped) {
      markFailed(span, failure.error, { 'error.grouping_key': failure.groupingKey });
      request.errorTyped = true;
    }
  }
  // Semconv for server spans: 5xx is an error, 4xx is the client's.
  if (status >= 500) {
    if (!request.errorTyped) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else if (outcome.aborted) {
    // The client went away before the response was complete.
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  }
  span.end(epochHrTime(outcome.startedAt + outcome.durationNs));
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function failRoute(span: Span, error: unknown): void {
  if (!isClientError(error)) markFailed(span, error);
  span.end();
}

/**
 * Wraps a route handler in its route span; returns the handler itself when tracing is off,
 * and calls it straight through for a request that is not recorded.
 */
export function tracedRoute<P>(template: string, handler: RequestHandler<P>): RequestHandler<P> {
  const rt = tracingRuntime();
  if (rt === undefined) return handler;
  const tracer = rt.tracer;
  const name = `request handler - ${template}`;
  const attributes = { [ATTR_HTTP_ROUTE]: template, 'express.name': template, 'express.type': 'request_handler' };
  return (req: Request<P>, res: Response, next: NextFunction) => {
    const request = requestTrace();
    if (request === undefined) return handler(req, res, next);
    request.span.updateName(`${req.method} ${template}`);
    request.span.setAttribute(ATTR_HTTP_ROUTE, template);
    const active = context.active();
    const span = tracer.startSpan(name, { attributes }, active);
    let result: unknown;
    try {
      result = context.with(trace.setSpan(active, span), handler, undefined, req, res, next);
    } catch (error) {
      failRoute(span, error);
      throw error;
    }
    if (isPromiseLike(result)) {
      result.then(
        () => span.end(),
        (error: unknown) => failRoute(span, error),
      );
    } else {
      span.end();
    }
    return result;
  };
}
