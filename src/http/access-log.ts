/**
 * The access line: one per request, written by the request lifecycle (request-lifecycle.ts)
 * when the response is done, and by the HTTP server for requests its parser rejected
 * (server.ts), from the same `RequestOutcome`. ECS HTTP fields, ours under `reco.*`.
 * 2xx → info, 4xx → warn, 5xx → error with the stack.
 *
 * Always the fast path (`logEcsRecord`): the same ECS document winston would write,
 * serialised once, straight into the log writer (in-process tests read it from the writer's
 * memory output). Every string is redacted in its raw and percent-decoded forms (a client can
 * paste its key, encoded, into the path), and the client-supplied ones (path, User-Agent)
 * are clipped.
 */
import { ACCESS_DATASET } from '../contracts';
import { logEcsRecord, logLevelEnabled } from '../observability/logger';
import { clipText, redactUrlDerived } from '../observability/redact';
import type { RequestFailure } from './errors';
import type { RecoFields } from './locals';
import type { RequestOutcome } from './request-lifecycle';

/** A path or header is client input of any length; the log keeps enough to recognise it. */
export const MAX_LOGGED_CLIENT_TEXT = 1024;

/** Redacted (raw and decoded forms), then clipped: for every client-supplied string logged. */
export function clientText(value: string | undefined): string | undefined {
  return value === undefined ? undefined : clipText(redactUrlDerived(value), MAX_LOGGED_CLIENT_TEXT);
}

/** The access line's level: 5xx → error, 4xx or aborted → warn, else info. */
export function accessLevel(status: number, aborted: boolean): 'error' | 'warn' | 'info' {
  return status >= 500 ? 'error' : status >= 400 || aborted ? 'warn' : 'info';
}

/** The lifecycle's access-line sink. */
export function writeAccessLine(outcome: RequestOutcome): void {
  const { status, aborted, failure } = outcome;
  const level = accessLevel(status, aborted);
  // Observability off (no outputs) or a level filtered out: skip building the record.
  if (!logLevelEnabled(level)) return;
  const path = clientText(outcome.path);
  const reco: RecoFields | undefined =
    failure === undefined ? outcome.reco : { ...outcome.reco, error_key: failure.key };
  const record: Record<string, unknown> = {
    event: accessEvent(status >= 400 || aborted ? 'failure' : 'success', outcome.durationNs),
    http: { request: { method: outcome.method }, response: { status_code: status } },
    url: path === undefined ? undefined : { path },
    client: { ip: outcome.clientIp },
    user_agent: { original: clientText(outcome.userAgent) },
    reco,
  };
  Object.assign(record, traceFields(outcome.trace));
  if (failure !== undefined) record.error = accessErrorFields(failure, outcome.rejectedBy);
  const shownPath = path ?? '-';
  const message =
    outcome.rejectedBy === undefined
      ? `${outcome.method} ${shownPath} ${status} ${(Number(outcome.durationNs) / 1e6).toFixed(1)}ms${aborted ? ' (client aborted)' : ''}`
      : `${outcome.method} ${shownPath} ${status} (rejected by the HTTP parser: ${outcome.rejectedBy})`;
  writeAccessRecord(level, message, record);
}

/** The access line's `error` object of a failed request (HTTP or gRPC). */
export function accessErrorFields(failure: RequestFailure, rejectedBy?: string): Record<string, unknown> {
  return {
    // A parser rejection names Node's error code; a routed failure its error key (4xx) or
    // the exception's class (5xx).
    type: rejectedBy ?? (failure.status >= 500 ? failure.error.name : failure.key),
    message: failure.error.message,
    // One value per kind of failure (`npm run errors` groups by it).
    grouping_key: failure.groupingKey,
    // Stacks only for server faults: a 4xx is the client's mistake, not ours.
    ...(failure.status >= 500 ? { stack_trace: failure.error.stack } : {}),
  };
}

/** Writes one access record (HTTP or gRPC) through the log writer's fast path, redacted. */
export function writeAccessRecord(level: string, message: string, record: Record<string, unknown>): void {
  logEcsRecord(level, message, record, redactUrlDerived);
}

/** The ECS `event` object of an access line (HTTP or gRPC). */
export function accessEvent(outcome: 'success' | 'failure', durationNs: bigint): Record<string, unknown> {
  return { dataset: ACCESS_DATASET, kind: 'event', category: ['web'], type: ['access'], outcome, duration: Number(durationNs) };
}

/** `trace.id` / `span.id` of a line whose request was traced; nothing otherwise. */
export function traceFields(ids: { traceId: string; spanId: string } | undefined): Record<string, unknown> {
  return ids === undefined ? {} : { trace: { id: ids.traceId }, span: { id: ids.spanId } };
}
