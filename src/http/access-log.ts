/**
 * One access log line per request, written when the response is done, with ECS HTTP fields
 * and ours under `reco.*`. 2xx → info, 4xx → warn, 5xx → error with the stack.
 *
 * The service's logger takes the fast path (`logEcsRecord`): the same ECS document winston
 * would write, serialised once, straight into the log writer. Every string is redacted in its
 * raw and percent-decoded forms (a client can paste its key, encoded, into the path), and the
 * client-supplied ones (path, User-Agent) are clipped.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'winston';
import { ACCESS_DATASET } from '../contracts';
import { logEcsRecord, logger as serviceLogger } from '../observability/logger';
import { clipText, redactUrlDerived } from '../observability/redact';
import type { RequestFailure } from './errors';
import type { RecoFields } from './locals';


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

export function accessLog(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const startedAt = process.hrtime.bigint();
    const locals = res.locals;
    // locals.traceIds and the x-trace-id / traceparent headers are set by the tracing
    // middleware that runs before this one (src/observability/tracing/http.ts).
    // An http.ServerResponse always emits 'close', after 'finish' when the response was
    // complete, so one listener sees both cases; unfinished means the client went away.
    res.once('close', () => {
      writeAccessLine(logger, req, res, locals, process.hrtime.bigint() - startedAt, !res.writableFinished);
    });
    next();
  };
}

function writeAccessLine(
  logger: Logger,
  req: Request,
  res: Response,
  locals: Response['locals'],
  durationNs: bigint,
  aborted: boolean,
): void {
  const status = res.statusCode;
  const level = accessLevel(status, aborted);
  // Observability off (no outputs) or a level filtered out: skip building the record.
  if (logger.silent || !logger.isLevelEnabled(level)) return;
  const path = clientText(req.path) ?? '';
  const failure = locals.failure;
  const reco: RecoFields | undefined =
    failure === undefined ? locals.reco : { ...locals.reco, error_key: failure.key };
  const record: Record<string, unknown> = {
    event: {
      dataset: ACCESS_DATASET,
      kind: 'event',
      category: ['web'],
      type: ['access'],
      outcome: status >= 400 || aborted ? 'failure' : 'success',
      duration: Number(durationNs),
    },
    http: { request: { method: req.method }, response: { status_code: status } },
    url: { path },
    client: { ip: req.socket.remoteAddress },
    user_agent: { original: clientText(req.headers['user-agent']) },
    reco,
  };
  if (locals.traceIds !== undefined) {
    record.trace = { id: locals.traceIds.traceId };
    record.span = { id: locals.traceIds.spanId };
  }
  if (failure !== undefined) record.error = accessErrorFields(failure);
  const durationMs = Number(durationNs) / 1e6;
  const message = `${req.method} ${path} ${status} ${durationMs.toFixed(1)}ms${aborted ? ' (client aborted)' : ''}`;
  writeAccessRecord(logger, level, message, record);
}

/** The access line's `error` object of a failed request (HTTP or gRPC). */
export function accessErrorFields(failure: RequestFailure): Record<string, unknown> {
  return {
    type: failure.status >= 500 ? failure.error.name : failure.key,
    message: failure.error.message,
    grouping_key: failure.groupingKey, // error groups (`npm run errors`)
    // Stacks only for server faults: a 4xx is the client's mistake, not ours.
    ...(failure.status >= 500 ? { stack_trace: failure.error.stack } : {}),
  };
}

/**
 * Writes one access record. The service's own logger takes the fast path; any other winston
 * logger (the in-process tests' in-memory one) gets the same record through its format
 * pipeline.
 */
export function writeAccessRecord(logger: Logger, level: string, message: string, record: Record<string, unknown>): void {
  if (logger === serviceLogger) logEcsRecord(level, message, record, redactUrlDerived);
  else logger.log(level, message, record);
}
