/** The Express application: routes, auth, access log and the error contract. */
import express, { type Express } from 'express';
import type { Logger } from 'winston';
import type { ModelLookup } from '../models/types';
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

  app.use(accessLog(logger));

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
