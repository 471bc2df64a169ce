// Tracing must hook `http` and `express` before anything requires them; with no OTLP
// endpoint configured this import does nothing and loads no SDK.
import './observability/tracing/register';

import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { drain, listen, serverUrl } from './http/server';
import { withFaultInjection } from './models/fault-injection';
import { prepareModels, type PreparedModels } from './models/registry';
import type { ModelLookup } from './models/types';
import { configureLogger, flushLogger, logFilePath, logger } from './observability/logger';
import { registerSecret } from './observability/redact';
import { shutdownTracing, tracingEnabled } from './observability/tracing';
import { ROUTES } from './contracts';
import { timedModels } from './http/request-metrics';
import { ServiceMetrics } from './observability/metrics';
import { closeMetrics, listenMetrics, METRICS_PATH } from './observability/metrics-server';

function resolveApiKey(config: Config): string {
  if (config.apiKey !== undefined) return config.apiKey;
  const key = randomBytes(24).toString('base64url');
  // Straight to the terminal on stderr, never through the logger: log lines are shipped.
  process.stderr.write(
    `\n  No API_KEY set: generated a development key for this run only.\n` +
      `  curl -H 'Authorization: Bearer ${key}' http://localhost:${config.port}/reco/knn/1\n\n`,
  );
  logger.warn('no API_KEY configured: using a random development key printed on stderr', {
    event: { action: 'dev-api-key' },
  });
  return key;
}

function withFaults(models: ModelLookup, divisor: number): ModelLookup {
  if (divisor <= 0) return models;
  return {
    get: (name) => {
      const model = models.get(name);
      return model === undefined ? undefined : withFaultInjection(model, divisor);
    },
    names: () => models.names(),
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`recoscope: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  configureLogger(config);
  const apiKey = resolveApiKey(config);
  registerSecret(apiKey);

  const startedAt = process.hrtime.bigint();
  const prepared = await prepareModels(config, logger);
  const metrics = config.metricsPort === 0 ? undefined : serviceMetrics(prepared);
  const served = metrics === undefined ? prepared.registry : timedModels(prepared.registry, metrics);
  const models = withFaults(served, config.faultUserDivisor);
  const app = createApp({ models, apiKey, kRecs: config.kRecs, logger, ...(metrics === undefined ? {} : { metrics }) });

  let server: Server;
  try {
    server = await listen(app, config.port, config.host);
  } catch (error) {
    logger.error(`cannot listen on ${config.host}:${config.port}`, { err: error });
    await flushLogger();
    process.exit(1);
  }
  // Before the `listening` line, so whoever waits for it can scrape at once.
  let metricsServer: Server | undefined;
  if (metrics !== undefined) {
    try {
      metricsServer = await listenMetrics(metrics, config.metricsPort, config.host);
    } catch (error) {
      logger.error(`cannot listen on ${config.host}:${config.metricsPort} for metrics (METRICS_PORT)`, { err: error });
      await flushLogger();
      process.exit(1);
    }
    logger.info(`metrics on ${serverUrl(metricsServer)}${METRICS_PATH}`, {
      event: { action: 'metrics-listening' },
      recoscope: { url: `${serverUrl(metricsServer)}${METRICS_PATH}` },
    });
  }

  const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  logger.info(`listening on ${serverUrl(server)}`, {
    event: { action: 'listening' },
    recoscope: {
      url: serverUrl(server),
      models: models.names(),
      startup_ms: Math.round(startupMs),
      rss_bytes: process.memoryUsage().rss,
      log_file: config.log.fileEnabled ? logFilePath(config.log) : null,
      tracing: tracingEnabled(),
      fault_user_divisor: config.faultUserDivisor,
    },
  });

  installShutdown(server, config.shutdownTimeoutMs, metricsServer);
}

/** The registry of the process, with the served models' info and load times. */
function serviceMetrics(prepared: PreparedModels): ServiceMetrics {
  const metrics = new ServiceMetrics({ routes: Object.values(ROUTES) });
  metrics.setModels(
    prepared.registry.names().map((name) => {
      const timing = prepared.timings.models[name];
      return {
        model: name,
        // A model trained at start-up has no artifact version.
        version: timing?.version ?? 'trained-at-startup',
        datasetFingerprint: prepared.dataset.fingerprint,
        source: timing?.source ?? 'trained',
        loadSeconds: (timing?.ms ?? 0) / 1000,
      };
    }),
    prepared.timings.datasetMs / 1000,
  );
  return metrics;
}

function installShutdown(server: Server, timeoutMs: number, metricsServer: Server | undefined): void {
  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(`shutting down (${reason}): draining requests`, { event: { action: 'shutdown' } });
    const drained = await drain(server, timeoutMs);
    if (!drained) logger.warn(`drain timed out after ${timeoutMs} ms: remaining connections were closed`);
    if (metricsServer !== undefined) await closeMetrics(metricsServer);
    await shutdownTracing();
    logger.info('shutdown complete', { event: { action: 'shutdown-complete' } });
    await flushLogger();
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception', { err: error });
    void shutdown('uncaught exception', 1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled promise rejection', { err: reason instanceof Error ? reason : new Error(String(reason)) });
  });
}

main().catch(async (error: unknown) => {
  logger.error('start-up failed', { err: error instanceof Error ? error : new Error(String(error)) });
  await flushLogger();
  process.exit(1);
});
