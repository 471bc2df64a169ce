/**
 * The service's view of tracing. Everything else imports from here, never from the SDK,
 * so that with tracing off no SDK module is even loaded (startTracing requires it lazily).
 *
 * With tracing off every function is a check of one variable and a return: no allocation,
 * no OpenTelemetry call. With tracing on, a request the sampler drops costs the sampling
 * decision and two response headers (see http.ts): no context switch, no attributes, no
 * stage spans.
 */
import { context, trace, TraceFlags } from '@opentelemetry/api';
import type { TracingConfig } from '../../config';
import type { StageName, StageSpan, Stages } from '../../models/stages';
import { untracedStages } from '../../models/stages';
import type { DiagSink } from './diag-logger';
import { markFailed } from './spans';
import type * as SdkModule from './sdk';
import { tracingRuntime, type TracingRuntime } from './state';

export type { DiagSink, DiagSinkLevel } from './diag-logger';
export { endServerSpan, epochHrTime, serverSpans, tracedRoute, type ServerSpan, type ServerSpans } from './http';
export { annotateRpc, recordRpcError, startRpcSpan, type RpcMetadata, type RpcSpan } from './grpc';

export interface TraceIds {
  traceId: string;
  spanId: string;
}

/** True once the SDK has been started. */
export function tracingEnabled(): boolean {
  return tracingRuntime() !== undefined;
}

const stderrSink: DiagSink = (_level, message) => {
  process.stderr.write(`${message}\n`);
};
let diagSink: DiagSink = stderrSink;

/**
 * Where OpenTelemetry's own diagnostics (exporter failures) go: main.ts points them at the
 * service's logger. Injected rather than imported, so tracing never imports the logger
 * (which imports tracing for trace ids). Until set: stderr.
 */
export function setDiagnosticSink(sink: DiagSink): void {
  diagSink = sink;
}

const STARTED = Symbol.for('recoscope.tracing.started');
type GlobalWithFlag = typeof globalThis & { [STARTED]?: boolean };

/**
 * Starts the SDK for a validated configuration (src/config.ts); a no-op when tracing is
 * off or already started (a preload and main.ts may both call it).
 */
export function startTracing(config: TracingConfig): void {
  const g = globalThis as GlobalWithFlag;
  if (!config.enabled || g[STARTED] === true || tracingRuntime() !== undefined) return;
  g[STARTED] = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: no SDK load when off
  const { startSdk } = require('./sdk') as typeof SdkModule;
  startSdk(config, (level, message, fields) => diagSink(level, message, fields));
}

/** Ids of the active span, for log lines written inside a traced request. */
export function activeTraceIds(): TraceIds | undefined {
  if (tracingRuntime() === undefined) return undefined;
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/**
 * The active trace's id when the trace is sampled (its spans are exported), else undefined:
 * what a metric exemplar may point at without leading to a trace Jaeger never received.
 * (A dropped request runs in no span context at all, see http.ts.)
 */
export function sampledTraceId(): string | undefined {
  if (tracingRuntime() === undefined) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 ? spanContext.traceId : undefined;
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
      const active = context.active();
      const parent = trace.getSpan(active);
      // Outside a recorded request (sampled out, or no request at all): no span.
      if (parent === undefined || !parent.isRecording()) return untracedStages.run(name, fn);
      // A child of the active (route) span, but not made active itself: stages are leaves
      // (nothing inside one starts a span or logs), and skipping the context switch saves
      // an AsyncLocalStorage run per stage on every traced request.
      const span = rt.tracer.startSpan(name, undefined, active);
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

/** Flush and stop the SDK; resolves immediately when tracing is off, and in bounded time otherwise. */
export async function shutdownTracing(): Promise<void> {
  const rt = tracingRuntime();
  if (rt === undefined) return;
  await rt.shutdown();
}
