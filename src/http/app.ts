/** The Express application: routes, auth, access log and the error contract. */
import express, { type Express } from 'express';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from '../config';
import { ADMIN_RELOAD_PATH, ROUTES } from '../contracts';
import type { ReloadReport } from '../models/serving';
import { adminReloadHandler } from './admin-route';
import type { ModelLookup } from '../models/types';
import { logger } from '../observability/logger';
import { tracedRoute } from '../observability/tracing';
import { PACKAGE } from '../paths';
import { requestProfiling } from '../profiling/request';
import { bearerCheck } from './auth';
import { createAuthThrottle } from './auth-throttle';
import { docsRouter } from './docs';
import { errorHandler, methodNotAllowedExcept, methodNotAllowedHandler, notFoundHandler } from './errors';
import type { Experiments } from '../experiments';
import { RecentRecommendations } from '../experiments/recent';
import { feedbackHandler } from './feedback';
import { buildOpenApiDocument, OPENAPI_PATH } from './openapi';
import { recoHandler } from './reco-route';
import type { ServiceMetrics } from '../observability/metrics';
import { requestLifecycle } from './request-lifecycle';
import { cors, noStore, securityHeaders } from './security';

export interface AppOptions {
  models: ModelLookup;
  /** A/B experiments (EXPERIMENTS_FILE), served as `/reco/<experiment>/<user_id>`; default none. */
  experiments?: Experiments;
  apiKey: string;
  kRecs: number;
  /** Docs page, CORS, proxies, wrong-key throttle; defaults: DEFAULT_HTTP_SETTINGS. */
  http?: HttpSettings;
  /** Prometheus metrics; undefined when METRICS_PORT=0 (no per-request cost then). */
  metrics?: ServiceMetrics;
  /** POST /admin/models/reload behind its own key; undefined: no such route (ADMIN_API_KEY unset). */
  admin?: { apiKey: string; reload: () => Promise<ReloadReport> };
}


export { DEFAULT_HTTP_SETTINGS };

export function createApp({ models, experiments, apiKey, kRecs, metrics, admin, http = DEFAULT_HTTP_SETTINGS }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  // Which X-Forwarded-For hops to believe for req.ip (the throttle's client address): none by default.
  app.set('trust proxy', http.trustProxy);

  // First: the one observer of each request (span, access line, metrics; request-lifecycle.ts).
  app.use(requestLifecycle({ metrics }));
  // Inside the server span's context, so samples are labelled with its trace.
  const profiling = requestProfiling();
  if (profiling !== undefined) app.use(profiling);
  app.use(securityHeaders);
  const corsHandler = cors(http.corsOrigins);
  if (corsHandler !== undefined) app.use(corsHandler);

  app
    .route(ROUTES.health)
    .get(
      tracedRoute(ROUTES.health, (_req, res) => {
        res.json('I am alive');
      }),
    )
    .all(tracedRoute(ROUTES.health, methodNotAllowedHandler));

  const throttle = createAuthThrottle({ limit: http.authFailureLimit, windowMs: http.authFailureWindowMs, logger });
  const isAuthorized = bearerCheck(apiKey);
  // Only with experiments: the arms of recent recommendations, for their feedback lines.
  const recent = experiments !== undefined && experiments.names().length > 0 ? new RecentRecommendations() : undefined;
  app
    .route(ROUTES.reco)
    .get(noStore, tracedRoute(ROUTES.reco, recoHandler({ models, experiments, recent, k: kRecs, isAuthorized, throttle })))
    .all(noStore, tracedRoute(ROUTES.reco, methodNotAllowedHandler));
  app
    .route(ROUTES.feedback)
    .post(noStore, tracedRoute(ROUTES.feedback, feedbackHandler({ isAuthorized, throttle, metrics, recent })))
    .all(noStore, tracedRoute(ROUTES.feedback, methodNotAllowedExcept('POST')));

  if (admin !== undefined) {
    app
      .route(ADMIN_RELOAD_PATH)
      .post(noStore, tracedRoute(ADMIN_RELOAD_PATH, adminReloadHandler({ isAuthorized: bearerCheck(admin.apiKey), reload: admin.reload, throttle })));
  }

  // Built once: the models and settings do not change while the process runs.
  const openApiDocument = JSON.stringify(
    buildOpenApiDocument({
      version: PACKAGE.version,
      models: models.names(),
      experiments: experiments?.names() ?? [],
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
