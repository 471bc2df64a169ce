/**
 * The request's server span and route span, started by our own Express middleware instead
 * of the generic http and Express instrumentations (which patch every layer and build
 * dozens of attributes per request; see README "Traces" for the measured difference).
 *
 * Per request, with tracing on:
 *  - the W3C `traceparent` of the request (if any) is extracted, the sampler decides, and the
 *    response gets `x-trace-id` and a `traceparent` carrying the span's real trace flags
 *    (`-01` sampled, `-00` not);
 *  - a request the sampler drops stops there: no attributes, no context switch, no spans;
 *  - a recorded one runs the rest of the chain inside its server span's context, gets the
 *    semconv HTTP server attributes, and its span ends when the response closes.
 * `tracedRoute` wraps a route handler in the "request handler - <route>" span (the Express
 * instrumentation's name and attributes) and names the server span `GET <route>`.
 *
 * The span tree is the one the instrumentations produced:
 *   GET /reco/:model_name/:user_id   (SERVER)
 *   └─ request handler - /reco/:model_name/:user_id
 *      └─ reco.* stage spans (index.ts)
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { TRACEPARENT_HEADER, TRACE_ID_HEADER } from '../../contracts';
import { isClientError, markFailed, REQUEST_TRACE, requestTrace, type RequestTrace } from './spans';
import { tracingRuntime } from './state';

/** A path is client input of any length; a span keeps enough to recognise it (as the access log). */
const MAX_PATH = 1024;

/** The middleware that starts each request's server span; undefined when tracing is off (install nothing). */
export function requestTracing(): RequestHandler | undefined {
  const rt = tracingRuntime();
  if (rt === undefined) return undefined;
  const tracer = rt.tracer;
  return (req: Request, res: Response, next: NextFunction) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    const { traceId, spanId, traceFlags } = span.spanContext();
    res.locals.traceIds = { traceId, spanId };
    res.setHeader(TRACE_ID_HEADER, traceId);
    // The span's real flags: -01 when the sampler kept it, -00 when it dropped it.
    const sampled = (traceFlags & TraceFlags.SAMPLED) !== 0;
    res.setHeader(TRACEPARENT_HEADER, `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`);
    // Sampled out: nothing more to do, nothing to end (a non-recording span holds no state).
    if (!span.isRecording()) {
      next();
      return;
    }
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
    res.once('close', () => endServerSpan(request, res));
    context.with(trace.setSpan(parent, span).setValue(REQUEST_TRACE, request), next);
  };
}

function endServerSpan({ span, errorTyped }: RequestTrace, res: Response): void {
  const status = res.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  // Semconv for server spans: 5xx is an error, 4xx is the client's.
  if (status >= 500) {
    if (!errorTyped) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  } else if (!res.writableFinished) {
    // The client went away before the response was complete.
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  }
  span.end();
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
