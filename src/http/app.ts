/** The Express application: routes, auth, access log and the error contract. */
import express, { type Express } from 'express';
import type { Logger } from 'winston';
import type { ModelLookup } from '../models/types';
import { ROUTES } from '../contracts';
import { requestTracing, tracedRoute } from '../observability/tracing';
import { accessLog } from './access-log';
import { bearerCheck } from './auth';
import { errorHandler, methodNotAllowedHandler, notFoundHandler } from './errors';
import { recoHandler } from './reco-route';

export interface AppOptions {
  models: ModelLookup;
  apiKey: string;
  kRecs: number;
  logger: Logger;
}

export function createApp({ models, apiKey, kRecs, logger }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  // With tracing on, the request's server span comes first (its ids go into the access line).
  const tracing = requestTracing();
  if (tracing !== undefined) app.use(tracing);
  app.use(accessLog(logger));

  app
    .route('/health')
    .get(
      tracedRoute(ROUTES.health, (_req, res) => {
        res.json('I am alive');
      }),
    )
    .all(tracedRoute(ROUTES.health, methodNotAllowedHandler));

  app
    .route(ROUTES.reco)
    .get(tracedRoute(ROUTES.reco, recoHandler({ models, k: kRecs, isAuthorized: bearerCheck(apiKey) })))
    .all(tracedRoute(ROUTES.reco, methodNotAllowedHandler));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
