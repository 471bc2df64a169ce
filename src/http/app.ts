/** The Express application: routes, auth, access log and the error contract. */
import express, { type Express } from 'express';
import type { Logger } from 'winston';
import type { HttpSettings } from '../config';
import { ROUTES } from '../contracts';
import type { ModelLookup } from '../models/types';
import { requestTracing, tracedRoute } from '../observability/tracing';
import { PACKAGE } from '../paths';
import { requestProfiling } from '../profiling/request';
import { accessLog } from './access-log';
import { bearerCheck } from './auth';
import { createAuthThrottle } from './auth-throttle';
import { docsRouter } from './docs';
import { errorHandler, methodNotAllowedHandler, notFoundHandler } from './errors';
import { buildOpenApiDocument, OPENAPI_PATH } from './openapi';
import { recoHandler } from './reco-route';
import type { ServiceMetrics } from '../observability/metrics';
import { requestMetrics } from './request-metrics';
import { cors, noStore, securityHeaders } from './security';
import { DEFAULT_TIMEOUTS } from './server';

export interface AppOptions {
  models: ModelLookup;
  apiKey: string;
  kRecs: number;
  logger: Logger;
  /** Docs page, CORS, proxies, wrong-key throttle; defaults: DEFAULT_HTTP_SETTINGS. */
  http?: HttpSettings;
  /** Prometheus metrics; undefined when METRICS_PORT=0 (no per-request cost then). */
  metrics?: ServiceMetrics;
}


/** The defaults of config.ts (docs off here: a bare createApp is not a development server). */
export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  docsEnabled: false,
  corsOrigins: [],
  trustProxy: false,
  authFailureLimit: 20,
  authFailureWindowMs: 60_000,
  ...DEFAULT_TIMEOUTS,
};

export function createApp({ models, apiKey, kRecs, logger, metrics, http = DEFAULT_HTTP_SETTINGS }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  // Which X-Forwarded-For hops to believe for req.ip (the throttle's client address): none by default.
  app.set('trust proxy', http.trustProxy);

  // With tracing on, the request's server span comes first (its ids go into the access line).
  const tracing = requestTracing();
  if (tracing !== undefined) app.use(tracing);
  // Inside the server span's context, so samples are labelled with its trace.
  const profiling = requestProfiling();
  if (profiling !== undefined) app.use(profiling);
  app.use(securityHeaders);
  app.use(accessLog(logger));
  const corsHandler = cors(http.corsOrigins);
  if (corsHandler !== undefined) app.use(corsHandler);
  if (metrics !== undefined) app.use(requestMetrics(metrics));

  app
    .route(ROUTES.health)
    .get(
      tracedRoute(ROUTES.health, (_req, res) => {
        res.json('I am alive');
      }),
    )
    .all(tracedRoute(ROUTES.health, methodNotAllowedHandler));

  const throttle = createAuthThrottle({ limit: http.authFailureLimit, windowMs: http.authFailureWindowMs, logger });
  app
    .route(ROUTES.reco)
    .get(noStore, tracedRoute(ROUTES.reco, recoHandler({ models, k: kRecs, isAuthorized: bearerCheck(apiKey), throttle })))
    .all(noStore, tracedRoute(ROUTES.reco, methodNotAllowedHandler));

  // Built once: the models and settings do not change while the process runs.
  const openApiDocument = JSON.stringify(
    buildOpenApiDocument({
      version: PACKAGE.version,
      models: models.names(),
      kRecs,
      authThrottle:
        http.authFailureLimit > 0 ? { limit: http.authFailureLimit, windowMs: http.authFailureWindowMs } : undefined,
    }),
  );
  app
    .route(OPENAPI_PATH)
    .get(
      tracedRoute(OPENAPI_PATH, (_req, res) => {
        res.type('application/json').send(openApiDocument);
      }),
    )
    .all(tracedRoute(OPENAPI_PATH, methodNotAllowedHandler));

  if (http.docsEnabled) app.use(docsRouter());

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
