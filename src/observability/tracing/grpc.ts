/**
 * The server span of one gRPC call, the RPC counterpart of http.ts: W3C `traceparent` (and
 * `tracestate`) extracted from the call's metadata, the sampler decides, and a recorded call
 * runs its handler inside the span's context — so the reco.* stage spans, annotateRpc
 * and recordRpcError work as in an HTTP request. Attributes are the semantic conventions
 * for RPC servers: rpc.system=grpc, rpc.service, rpc.method, rpc.grpc.status_code; the span
 * is named `<package.Service>/<Method>`. Status ERROR only for the codes the conventions
 * count as server errors (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
 * DATA_LOSS): NOT_FOUND or INVALID_ARGUMENT is the client's, like an HTTP 4xx.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type TextMapGetter } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { TraceIds } from './index';
import { markFailed, REQUEST_TRACE, requestTrace, type RequestTrace } from './spans';
import { tracingRuntime } from './state';

/** The metadata of a call as plain key → value(s) (grpc-js Metadata.getMap()). */
export type RpcMetadata = Record<string, string | Buffer | undefined>;

const metadataGetter: TextMapGetter<RpcMetadata> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key.toLowerCase()];
    return typeof value === 'string' ? value : undefined;
  },
};

/** gRPC status codes that are the server's fault (OpenTelemetry RPC conventions). */
const SERVER_ERROR_CODES = new Set([2, 4, 12, 13, 14, 15]);

export interface RpcSpan {
  traceIds: TraceIds;
  /** Runs `fn` inside the span's context (straight through when not recorded). */
  run<T>(fn: () => T): T;
  /** Ends the span with the call's status code (name for error.type). */
  end(code: number, codeName: string): void;
}

/** Starts the server span of a call; undefined when tracing is off. */
export function startRpcSpan(service: string, method: string, metadata: RpcMetadata): RpcSpan | undefined {
  const rt = tracingRuntime();
  if (rt === undefined) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  const span = rt.tracer.startSpan(`${service}/${method}`, { kind: SpanKind.SERVER }, parent);
  const { traceId, spanId } = span.spanContext();
  if (!span.isRecording()) {
    return { traceIds: { traceId, spanId }, run: (fn) => fn(), end: () => undefined };
  }
  span.setAttributes({ 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method });
  const request: RequestTrace = { span, errorTyped: false };
  const active = trace.setSpan(parent, span).setValue(REQUEST_TRACE, request);
  return {
    traceIds: { traceId, spanId },
    run: (fn) => context.with(active, fn),
    end: (code, codeName) => {
      span.setAttribute('rpc.grpc.status_code', code);
      // recordRpcError already set the exception's type and status: keep its message.
      if (SERVER_ERROR_CODES.has(code) && !request.errorTyped) {
        span.setAttribute(ATTR_ERROR_TYPE, codeName);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/** Annotate the active call's server span (reco.model, reco.user_id …); nothing when not recorded. */
export function annotateRpc(attributes: Record<string, string | number | boolean>): void {
  requestTrace()?.span.setAttributes(attributes);
}

/** The call failed on our side: exception event, ERROR status, `error.type` on its server span. */
export function recordRpcError(error: unknown, eventAttributes?: Attributes): void {
  const request = requestTrace();
  if (request === undefined) return;
  markFailed(request.span, error, eventAttributes);
  request.errorTyped = true;
}
