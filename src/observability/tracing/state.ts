/**
 * What register.ts leaves behind for the facade (index.ts) once the SDK has started.
 * Holds no OpenTelemetry import of its own: with tracing off it is an `undefined`.
 */
import type { Span, Tracer } from '@opentelemetry/api';

export interface TracingRuntime {
  tracer: Tracer;
  /** The request's server span (from the http instrumentation's RPC metadata), if any. */
  serverSpan(): Span | undefined;
  /** Flushes queued spans and stops the SDK. */
  shutdown(): Promise<void>;
}

let runtime: TracingRuntime | undefined;

export function setTracingRuntime(value: TracingRuntime): void {
  runtime = value;
}

export function tracingRuntime(): TracingRuntime | undefined {
  return runtime;
}
