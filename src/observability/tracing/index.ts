/**
 * The service's view of tracing. Everything else imports from here, never from the SDK,
 * so that with tracing off no SDK module is even loaded.
 *
 * PLACEHOLDER (lead): no-op implementations so the service builds; the tracing engineer
 * replaces the internals (register.ts starts the SDK when an OTLP endpoint is configured).
 */
import type { Stages } from '../../models/stages';
import { untracedStages } from '../../models/stages';

export interface TraceIds {
  traceId: string;
  spanId: string;
}

/** True once the SDK has been started by register.ts. */
export function tracingEnabled(): boolean {
  return false;
}

/** Ids of the active span, for log lines and the `x-trace-id` response header. */
export function activeTraceIds(): TraceIds | undefined {
  return undefined;
}

/** Stages implementation for the current request: child spans when tracing is on. */
export function requestStages(): Stages {
  return untracedStages;
}

/** Mark the active (request) span as failed and record the exception. */
export function recordRequestError(_error: unknown): void {}

/** Annotate the active request span (e.g. reco.model, reco.user_id). */
export function annotateRequest(_attributes: Record<string, string | number | boolean>): void {}

/** Flush and stop the SDK; resolves immediately when tracing is off. */
export async function shutdownTracing(): Promise<void> {}
