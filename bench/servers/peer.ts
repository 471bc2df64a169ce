/**
 * The peer stack: what a user who does not pick recoscope runs instead. Express 5 with
 * pino-http (ECS format, @elastic/ecs-pino-format) logging to a file through pino's own
 * asynchronous destination (sonic-boom, 4 KiB minimum write), and OpenTelemetry's Node SDK
 * with the http, Express and pino instrumentations (trace ids in the log lines), exporting
 * OTLP/HTTP protobuf through the SDK's default batch processor. Sampler, endpoint and
 * service name come from the standard OTEL_* environment, as for any user.
 *
 * The route is the service's own logic, imported from src/: the same bearer check, user-id
 * parsing, model (trained at start-up from the same dataset settings) and JSON body. What
 * differs is only the observability around it.
 *
 *   PORT=0 HOST=127.0.0.1 API_KEY=… PEER_LOG_FILE=… OTEL_EXPORTER_OTLP_ENDPOINT=… \
 *     OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 \
 *     node dist/bench/servers/peer.js
 * Prints its URL as a `listening` JSON line once the models are trained.
 */
import { createServer } from 'node:http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type * as EcsPinoModule from '@elastic/ecs-pino-format';
import type ExpressDefault from 'express';
import type { NextFunction, Request, Response } from 'express';
import type * as PinoModule from 'pino';
import type * as PinoHttpModule from 'pino-http';
import type * as ConfigModule from '../../src/config';
import type * as AuthModule from '../../src/http/auth';
import type * as ErrorsModule from '../../src/http/errors';
import type * as UserIdModule from '../../src/http/user-id';
import type * as RegistryModule from '../../src/models/registry';
import type * as StagesModule from '../../src/models/stages';
import { announce, listenAddress } from './listening';

// Instrumentations patch modules as they are required: the SDK starts before express, http
// servers and pino are loaded (below, through require).
const tracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
const sdk = tracing
  ? new NodeSDK({
      instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new PinoInstrumentation()],
      // Traces only, as recoscope: no OTLP metrics or logs pipelines.
      metricReaders: [],
      logRecordProcessors: [],
    })
  : undefined;
sdk?.start();

/* eslint-disable @typescript-eslint/no-require-imports -- loaded after the SDK started, so the instrumentations can patch them */
const express = require('express') as typeof ExpressDefault;
const { pino } = require('pino') as typeof PinoModule;
const { pinoHttp } = require('pino-http') as typeof PinoHttpModule;
const { ecsFormat } = require('@elastic/ecs-pino-format') as typeof EcsPinoModule;
const { loadConfig } = require('../../src/config') as typeof ConfigModule;
const { prepareModels } = require('../../src/models/registry') as typeof RegistryModule;
const { untracedStages } = require('../../src/models/stages') as typeof StagesModule;
const { bearerCheck } = require('../../src/http/auth') as typeof AuthModule;
const { parseUserId } = require('../../src/http/user-id') as typeof UserIdModule;
const { HttpError, errorBody } = require('../../src/http/errors') as typeof ErrorsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const prepared = await prepareModels(config, silent);
  const models = prepared.registry;
  const apiKey = process.env.API_KEY ?? '';
  const isAuthorized = bearerCheck(apiKey);
  const logFile = process.env.PEER_LOG_FILE;
  const destination = logFile === undefined ? undefined : pino.destination({ dest: logFile, minLength: 4096, sync: false, mkdir: true });
  // pino-http logs request headers: a user who keeps secrets out of logs redacts the key.
  const log = pino({ ...ecsFormat(), redact: ['req.headers.authorization'], enabled: destination !== undefined }, destination);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use(pinoHttp({ logger: log }));
  app.get('/health', (_req, res) => {
    res.json('I am alive');
  });
  app.get('/reco/:model_name/:user_id', (req, res) => {
    const params = req.params;
    if (!isAuthorized(req.headers.authorization)) throw new HttpError(401, 'unauthorized', 'Missing or invalid bearer token');
    const userId = parseUserId(params.user_id);
    const model = models.get(params.model_name);
    if (model === undefined) throw new HttpError(404, 'model_not_found', 'Model not found');
    const result = model.recommend(userId, config.kRecs, untracedStages);
    res.json({ user_id: userId, items: result.items });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = error instanceof HttpError ? error : new HttpError(500, 'server_error', 'Internal error');
    res.status(e.status).json(errorBody(e));
  });

  const server = createServer(app);
  const { port, host } = listenAddress();
  server.listen(port, host, () => announce(server, 'peer (Express + pino-http + OpenTelemetry instrumentations)'));
  // Stop accepting, then flush spans and log lines, then exit.
  const stop = async (): Promise<void> => {
    server.close();
    server.closeAllConnections();
    await sdk?.shutdown().catch(() => undefined);
    try {
      destination?.flushSync();
    } catch {
      // nothing buffered, or the file is gone: nothing more to write
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
