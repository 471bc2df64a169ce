/** The Express application: routes, auth, access log and the error contract. */
import express, { type Express } from 'express';
import type { Logger } from 'winston';
import type { ModelLookup } from '../models/types';
import { accessLog } from './access-log';
import { bearerCheck } from './auth';
import { errorHandler, methodNotAllowedHandler, notFoundHandler } from './errors';
import { recoHandler } from './reco-route';
import type { ServiceMetrics } from '../observability/metrics';
import { requestMetrics } from './request-metrics';

export interface AppOptions {
  models: ModelLookup;
  apiKey: string;
  kRecs: number;
  logger: Logger;
  /** Prometheus metrics; undefined when METRICS_PORT=0 (no per-request cost then). */
  metrics?: ServiceMetrics;
}

export function createApp({ models, apiKey, kRecs, logger, metrics }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  app.use(accessLog(logger));
  if (metrics !== undefined) app.use(requestMetrics(metrics));

  app
    .route('/health')
    .get((_req, res) => {
      res.json('I am alive');
    })
    .all(methodNotAllowedHandler);

  app
    .route('/reco/:model_name/:user_id')
    .get(recoHandler({ models, k: kRecs, isAuthorized: bearerCheck(apiKey) }))
    .all(methodNotAllowedHandler);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
