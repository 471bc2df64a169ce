/**
 * What startTracing() leaves behind for the facade (index.ts) once the SDK has started.
 * Holds no OpenTelemetry SDK import of its own: with tracing off it is an `undefined`.
 *
 * Kept on `globalThis` (under a registered symbol) rather than in a module variable, so a
 * second copy of this module (a `--require` preload plus the service's own import from a
 * fresh module cache) sees the same runtime and never starts a second SDK.
 */
import type { Tracer } from '@opentelemetry/api';

export interface TracingRuntime {
  tracer: Tracer;
  /** Flushes queued spans and stops the SDK. */
  shutdown(): Promise<void>;
}

const RUNTIME = Symbol.for('recoscope.tracing.runtime');
type GlobalWithRuntime = typeof globalThis & { [RUNTIME]?: TracingRuntime };

export function setTracingRuntime(value: TracingRuntime): void {
  (globalThis as GlobalWithRuntime)[RUNTIME] = value;
}

export function tracingRuntime(): TracingRuntime | undefined {
  return (globalThis as GlobalWithRuntime)[RUNTIME];
}
