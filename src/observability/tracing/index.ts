/**
 * The service's view of tracing. Everything else imports from here, never from the SDK,
 * so that with tracing off no SDK module is even loaded (register.ts decides and starts it).
 *
 * With tracing off every function is a check of one module variable and a return: no
 * allocation, no OpenTelemetry call.
 */
import { SpanStatusCode, TraceFlags, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { StageName, StageSpan, Stages } from '../../models/stages';
import { untracedStages } from '../../models/stages';
import { tracingRuntime, type TracingRuntime } from './state';

export interface TraceIds {
  traceId: string;
  spanId: string;
}

/** True once the SDK has been started by register.ts. */
export function tracingEnabled(): boolean {
  return tracingRuntime() !== undefined;
}

/** Ids of the active span, for log lines and the `x-trace-id` response header. */
export function activeTraceIds(): TraceIds | undefined {
  const rt = tracingRuntime();
  if (rt === undefined) return undefined;
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/**
 * The active trace's id when the trace is sampled (its spans are exported), else undefined:
 * what a metric exemplar may point at without leading to a trace Jaeger never received.
 */
export function sampledTraceId(): string | undefined {
  const rt = tracingRuntime();
  if (rt === undefined) return undefined;
  const context = trace.getActiveSpan()?.spanContext();
  return context !== undefined && (context.traceFlags & TraceFlags.SAMPLED) !== 0 ? context.traceId : undefined;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function markFailed(span: Span, error: unknown, eventAttributes?: Attributes): void {
  const err = toError(error);
  if (eventAttributes === undefined) span.recordException(err);
  // recordException takes no attributes: the same `exception` event, built as the SDK does, plus ours.
  else span.addEvent('exception', { 'exception.type': err.name, 'exception.message': err.message, 'exception.stacktrace': err.stack, ...eventAttributes });
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${err.name}: ${err.message}` });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function tracedStages(rt: TracingRuntime): Stages {
  return {
    run<T>(name: StageName, fn: (span: StageSpan) => T): T {
      // A child of the active (route) span, but not made active itself: stages are leaves
      // (nothing inside one starts a span or logs), and skipping the context switch saves
      // an AsyncLocalStorage run per stage on every traced request.
      const span = rt.tracer.startSpan(name);
      let result: T;
      try {
        result = fn(span);
      } catch (error) {
        markFailed(span, error);
        span.end();
        throw error;
      }
      if (isPromiseLike(result)) {
        // Stages are synchronous today; an async one still gets a correct span.
        Promise.resolve(result).then(
          () => span.end(),
          (error: unknown) => {
            markFailed(span, error);
            span.end();
          },
        );
      } else {
        span.end();
      }
      return result;
    },
  };
}

let stagesFor: { rt: TracingRuntime; stages: Stages } | undefined;

/** Stages implementation for the current request: child spans when tracing is on. */
export function requestStages(): Stages {
  const rt = tracingRuntime();
  if (rt === undefined) return untracedStages;
  // Stateless (spans hang off the active context), so one instance serves every request.
  if (stagesFor?.rt !== rt) stagesFor = { rt, stages: tracedStages(rt) };
  return stagesFor.stages;
}

/** The request's server span, else the active span. */
function requestSpan(rt: TracingRuntime): Span | undefined {
  return rt.serverSpan() ?? trace.getActiveSpan();
}

/** Mark the active (request) span as failed and record the exception (with extra event attributes, e.g. error.grouping_key). */
export function recordRequestError(error: unknown, eventAttributes?: Attributes): void {
  const rt = tracingRuntime();
  if (rt === undefined) return;
  const span = requestSpan(rt);
  if (span !== undefined) markFailed(span, error, eventAttributes);
}

/** Annotate the active request span (e.g. reco.model, reco.user_id). */
export function annotateRequest(attributes: Record<string, string | number | boolean>): void {
  const rt = tracingRuntime();
  if (rt === undefined) return;
  requestSpan(rt)?.setAttributes(attributes);
}

/** Flush and stop the SDK; resolves immediately when tracing is off, and in bounded time otherwise. */
export async function shutdownTracing(): Promise<void> {
  const rt = tracingRuntime();
  if (rt === undefined) return;
  await rt.shutdown();
}
