/** Small span helpers shared by the facade and the HTTP middleware (API only, no SDK). */
import { context, createContextKey, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/** The server span of a recorded request, and whether `error.type` was already set on it. */
export interface RequestTrace {
  span: Span;
  errorTyped: boolean;
}

/** Context key under which http.ts keeps the request's server span (only for recorded requests). */
export const REQUEST_TRACE = createContextKey('recoscope.request_trace');

/** The recorded request the active context belongs to, if any. */
export function requestTrace(): RequestTrace | undefined {
  return context.active().getValue(REQUEST_TRACE) as RequestTrace | undefined;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Exception event (plus `eventAttributes`), ERROR status and the semconv `error.type` (the exception's type). */
export function markFailed(span: Span, error: unknown, eventAttributes?: Attributes): void {
  const err = toError(error);
  if (eventAttributes === undefined) span.recordException(err);
  // recordException takes no attributes: the same `exception` event, built as the SDK does, plus ours.
  else span.addEvent('exception', { 'exception.type': err.name, 'exception.message': err.message, 'exception.stacktrace': err.stack, ...eventAttributes });
  span.setAttribute(ATTR_ERROR_TYPE, err.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${err.name}: ${err.message}` });
}

/** A thrown error that a client caused (carries a 4xx status): not a failure of the span (semconv). */
export function isClientError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { status?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}
