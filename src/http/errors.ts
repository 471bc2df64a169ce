/**
 * The error contract of RecoServiceTemplate:
 *   {"errors":[{"error_key": "...", "error_message": "...", "error_loc": [...] | null}]}
 * Every non-2xx answer of the service has this shape.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { groupingKey } from './grouping-key';

import type { ErrorBody, ErrorKey } from './schemas';

export type { ErrorBody, ErrorKey };

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly key: ErrorKey,
    message: string,
    readonly loc: string[] | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What the access log needs to know about a failed request (kept on res.locals). */
export interface RequestFailure {
  status: number;
  key: ErrorKey;
  /** The error as thrown: for 5xx its stack goes to the log, never to the client. */
  error: Error;
  /** `error.grouping_key` (see grouping-key.ts): one value per kind of failure, never per user. */
  groupingKey: string;
}

export const errors = {
  unauthorized: () =>
    new HttpError(401, 'unauthorized', 'Missing or invalid bearer token', null, {
      'WWW-Authenticate': 'Bearer',
    }),
  modelNotFound: (name: string) => new HttpError(404, 'model_not_found', `Model ${clip(name)} not found`),
  userNotFound: (id: string) => new HttpError(404, 'user_not_found', `User ${clip(id)} not found`),
  invalidUserId: () =>
    new HttpError(422, 'validation_error', 'user_id must be a non-negative decimal integer', ['path', 'user_id']),
  notFound: () => new HttpError(404, 'http_exception', 'Not Found'),
  // RFC 9110 §15.5.6: a 405 says which methods the resource has.
  methodNotAllowed: (allow = 'GET, HEAD') => new HttpError(405, 'http_exception', 'Method Not Allowed', null, { Allow: allow }),
  unsupportedMediaType: () => new HttpError(415, 'http_exception', 'The body must be application/json'),
  /** An experiment arm whose model reference no longer resolves: the server's state, not the client's mistake. */
  armUnavailable: (experiment: string, arm: string) =>
    new HttpError(503, 'service_unavailable', `Experiment ${experiment}: the model of arm ${arm} is not available`, null, { 'Retry-After': '1' }),
  /** Too many wrong keys from this client address (see auth-throttle.ts). */
  tooManyAuthFailures: (retryAfterSeconds: number) =>
    new HttpError(429, 'too_many_requests', 'Too many failed authentication attempts: retry later', null, {
      'Retry-After': String(retryAfterSeconds),
    }),
  /** The port is bound while the models are still being prepared. */
  notReady: () =>
    new HttpError(503, 'service_unavailable', 'Starting up: models are being prepared', null, { 'Retry-After': '1' }),
};

/** Client-supplied text echoed in a message is clipped, so a 10 KB id makes a short error. */
function clip(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export function errorBody(error: HttpError): ErrorBody {
  return { errors: [{ error_key: error.key, error_message: error.message, error_loc: error.loc }] };
}

function send(res: Response, error: HttpError): void {
  res.status(error.status).set(error.headers).json(errorBody(error));
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => next(errors.notFound());
export const methodNotAllowedHandler: RequestHandler = (_req, _res, next) => next(errors.methodNotAllowed());
/** The 405 of a route whose only method is `allow`. */
export const methodNotAllowedExcept =
  (allow: string): RequestHandler =>
  (_req, _res, next) =>
    next(errors.methodNotAllowed(allow));

/** Express errors that carry a 4xx status (bad URL encoding, oversize input) stay 4xx. */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/** The matched route's template (`/reco/:model_name/:user_id`), undefined for an unrouted path. */
function routeTemplate(route: unknown): string | undefined {
  const path = (route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : undefined;
}

export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  let httpError: HttpError;
  if (error instanceof HttpError) {
    httpError = error;
  } else {
    const status = clientErrorStatus(error);
    httpError =
      status !== undefined
        ? new HttpError(status, 'http_exception', status === 400 ? 'Bad Request' : 'Client Error')
        : new HttpError(500, 'server_error', 'Internal Server Error');
  }
  const thrown = error instanceof Error ? error : new Error(String(error));
  const failure: RequestFailure = {
    status: httpError.status,
    key: httpError.key,
    error: thrown,
    groupingKey: groupingKey({ status: httpError.status, key: httpError.key, error: thrown, route: routeTemplate(req.route) }),
  };
  // The request lifecycle hands it to every sink: the access line's error.*, the span's
  // error.grouping_key (and, for a 5xx, its exception event), the metrics' error key.
  res.locals.failure = failure;
  send(res, httpError);
};
