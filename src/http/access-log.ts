/**
 * One access log line per request, written when the response is done, with ECS HTTP fields
 * and ours under `reco.*`. 2xx → info, 4xx → warn, 5xx → error with the stack.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'winston';
import { ACCESS_DATASET } from '../contracts';
import type { RecoFields } from './locals';


// A path is client input of any length; the log keeps enough to recognise it.
const MAX_LOGGED_PATH = 1024;

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
  const level = status >= 500 ? 'error' : status >= 400 || aborted ? 'warn' : 'info';
  // Observability off (no transports) or a level filtered out: skip building the record.
  if (logger.silent || !logger.isLevelEnabled(level)) return;
  const path = req.path.length > MAX_LOGGED_PATH ? `${req.path.slice(0, MAX_LOGGED_PATH)}…` : req.path;
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
    user_agent: { original: req.headers['user-agent'] },
    reco,
  };
  if (locals.traceIds !== undefined) {
    record.trace = { id: locals.traceIds.traceId };
    record.span = { id: locals.traceIds.spanId };
  }
  if (failure !== undefined) {
    record.error = {
      type: failure.status >= 500 ? failure.error.name : failure.key,
      message: failure.error.message,
      // Stacks only for server faults: a 4xx is the client's mistake, not ours.
      ...(failure.status >= 500 ? { stack_trace: failure.error.stack } : {}),
    };
  }
  const durationMs = Number(durationNs) / 1e6;
  const message = `${req.method} ${path} ${status} ${durationMs.toFixed(1)}ms${aborted ? ' (client aborted)' : ''}`;
  logger.log(level, message, record);
}
