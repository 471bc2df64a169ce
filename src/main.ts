import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { drain, listen, serverUrl } from './http/server';
import { withFaultInjection } from './models/fault-injection';
import { prepareModels } from './models/registry';
import type { ModelLookup } from './models/types';
import { configureLogger, flushLogger, logFilePath, logger } from './observability/logger';
import { registerSecret } from './observability/redact';
import { setDiagnosticSink, shutdownTracing, startTracing, tracingEnabled, type DiagSink } from './observability/tracing';

/** OpenTelemetry's own diagnostics (exporter failures, rate limited) into the service log. */
const otelDiagnostics: DiagSink = (level, message, fields) => {
  logger.log(level, message, {
    event: { action: 'otel-diagnostic' },
    recoscope: { otel: { level: fields.otelLevel, suppressed: fields.suppressed } },
  });
};

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
  // Tracing patches no module, so it starts here, after the configuration (OTEL_* included)
  // has been validated; with no OTLP endpoint no SDK module is loaded.
  setDiagnosticSink(otelDiagnostics);
  startTracing(config.tracing);
  const apiKey = resolveApiKey(config);
  registerSecret(apiKey);

  const startedAt = process.hrtime.bigint();
  const prepared = await prepareModels(config, logger);
  const models = withFaults(prepared.registry, config.faultUserDivisor);
  const app = createApp({ models, apiKey, kRecs: config.kRecs, logger });

  let server: Server;
  try {
    server = await listen(app, config.port, config.host);
  } catch (error) {
    logger.error(`cannot listen on ${config.host}:${config.port}`, { err: error });
    await flushLogger();
    process.exit(1);
  }
  const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  logger.info(`listening on ${serverUrl(server)} (Node ${process.version})`, {
    event: { action: 'listening' },
    recoscope: {
      url: serverUrl(server),
      models: models.names(),
      startup_ms: Math.round(startupMs),
      rss_bytes: process.memoryUsage().rss,
      log_file: config.log.fileEnabled ? logFilePath(config.log) : null,
      node_version: process.version,
      tracing: tracingEnabled(),
      fault_user_divisor: config.faultUserDivisor,
    },
  });

  installShutdown(server, config.shutdownTimeoutMs);
}

function installShutdown(server: Server, timeoutMs: number): void {
  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(`shutting down (${reason}): draining requests`, { event: { action: 'shutdown' } });
    const drained = await drain(server, timeoutMs);
    if (!drained) logger.warn(`drain timed out after ${timeoutMs} ms: remaining connections were closed`);
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
