import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { EXIT_CODES, ROUTES } from './contracts';
import { createApp } from './http/app';
import { errorBody, errors } from './http/errors';
import { bindEarly, drain, ListenError, serverUrl, type EarlyServer } from './http/server';
import { LogDirError } from './observability/log-writer';
import { withInjectedFaults } from './models/fault-injection';
import { prepareModels, type PreparedModels } from './models/registry';
import { configureLogger, flushLogger, logFilePath, logger } from './observability/logger';
import { registerSecret } from './observability/redact';
import { setDiagnosticSink, shutdownTracing, startTracing, tracingEnabled, type DiagSink } from './observability/tracing';
import { timedModels } from './models/timed';
import { ServiceMetrics } from './observability/metrics';
import { closeMetrics, listenMetrics, METRICS_PATH } from './observability/metrics-server';
import { setProfiledModelVersions, startProfiling, stopProfiling } from './profiling';
import { startGrpcService } from './grpc/service';
import type { RunningGrpcServer } from './grpc/server';
import { isSupervisor, isWorker, runSupervisor, serveRegistryToSupervisor, workerConfig } from './cluster/supervisor';
import { checkExperiments, Experiments, readExperimentsFile, type Experiment } from './experiments';

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

/** What the early-bound port answers while the models are prepared: 503 in our error shape. */
const NOT_READY_BODY = JSON.stringify(errorBody(errors.notReady()));
const notReady = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(503, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(NOT_READY_BODY),
    'Retry-After': '1',
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  res.end(NOT_READY_BODY);
};

/**
 * Every start-up failure ends here: one line on stderr (whatever the log settings), the same
 * in the log when the logger is up, and the exit code of its kind (EXIT_CODES).
 */
async function startupFailure(code: number, line: string, error?: unknown): Promise<never> {
  const oneLine = line.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`recoscope: ${oneLine}\n`);
  if (loggerReady) {
    logger.error(oneLine, { event: { action: 'startup-failed' }, ...(error instanceof Error ? { err: error } : {}) });
    await flushLogger();
  }
  process.exit(code);
}
let loggerReady = false;

async function main(): Promise<void> {
  let config: Config;
  // The experiments file is configuration too: read and validated before anything starts.
  let experimentList: Experiment[] = [];
  try {
    config = loadConfig();
    if (config.experimentsFile !== undefined) experimentList = readExperimentsFile(config.experimentsFile);
  } catch (error) {
    if (error instanceof ConfigError) return startupFailure(EXIT_CODES.config, error.message);
    throw error;
  }
  // WORKERS > 1: this process supervises the workers (src/cluster/) and serves nothing itself.
  const supervising = isSupervisor(config);
  config = workerConfig(config);
  try {
    configureLogger(config);
  } catch (error) {
    // Before any model is trained: a service that cannot write its logs must not start.
    if (error instanceof LogDirError) return startupFailure(EXIT_CODES.logDir, error.message);
    throw error;
  }
  loggerReady = true;
  if (supervising) return runSupervisor(config, resolveApiKey(config));
  // Tracing patches no module, so it starts here, after the configuration (OTEL_* included)
  // has been validated; with no OTLP endpoint no SDK module is loaded.
  setDiagnosticSink(otelDiagnostics);
  startTracing(config.tracing);
  const apiKey = resolveApiKey(config);
  registerSecret(apiKey);
  if (config.adminApiKey !== undefined) registerSecret(config.adminApiKey);
  // Before the models are prepared, so start-up is in the first profile too.
  await startProfiling(config.profiling, logger);

  const startedAt = process.hrtime.bigint();
  // Bound before training, so a port in use fails in milliseconds; 503 until the models are ready.
  let early: EarlyServer;
  try {
    early = await bindEarly(config.port, config.host, notReady, config.http);
  } catch (error) {
    if (error instanceof ListenError) return startupFailure(EXIT_CODES.listen, error.message, error.cause);
    throw error;
  }
  const server: Server = early.server;
  logger.info(`bound ${serverUrl(server)}: preparing the models (answering 503 until ready)`, { event: { action: 'bound' } });

  let prepared: Awaited<ReturnType<typeof prepareModels>>;
  try {
    prepared = await prepareModels(config, logger);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const what = reason.includes(config.dataset.source) ? 'the models' : `the models from dataset ${config.dataset.source}`;
    return startupFailure(EXIT_CODES.dataset, `cannot prepare ${what}: ${reason}`, error);
  }
  try {
    checkExperiments(experimentList, prepared.registry, config.experimentsFile);
  } catch (error) {
    if (error instanceof ConfigError) return startupFailure(EXIT_CODES.config, error.message);
    throw error;
  }
  const experiments = new Experiments(experimentList);
  const metrics = config.metricsPort === 0 ? undefined : new ServiceMetrics({ routes: Object.values(ROUTES) });
  metrics?.setArms(experiments.armNames());
  // The metrics' model info and label values and the profiles name the versions served: now,
  // and again after every promotion or rollback.
  const publishServedVersions = (): void => {
    if (metrics !== undefined) {
      setServedModels(metrics, prepared);
      // An arm may serve a version no bare name serves (knn@staging): its version is a label value too.
      metrics.addModelVersions(experiments.servedVersions(prepared.registry));
    }
    setProfiledModelVersions(prepared.registry.servedVersions());
  };
  publishServedVersions();
  prepared.registry.onSwap(publishServedVersions);
  installModelReload(prepared);
  const served = metrics === undefined ? prepared.registry : timedModels(prepared.registry, metrics);
  const models = withInjectedFaults(served, { faultUserDivisor: config.faultUserDivisor, ...config.profiling });
  const admin = config.adminApiKey === undefined ? undefined : { apiKey: config.adminApiKey, reload: () => prepared.registry.reload() };
  const app = createApp({
    models,
    experiments,
    apiKey,
    kRecs: config.kRecs,
    http: config.http,
    ...(metrics === undefined ? {} : { metrics }),
    ...(admin === undefined ? {} : { admin }),
  });

  // Before the `listening` line, so whoever waits for it can scrape at once.
  let metricsServer: Server | undefined;
  // A worker's metrics are scraped through the supervisor's aggregate, not on a port of its own.
  if (metrics !== undefined && isWorker(config)) serveRegistryToSupervisor(metrics.registry);
  else if (metrics !== undefined) {
    try {
      metricsServer = await listenMetrics(metrics, config.metricsPort, config.host);
    } catch (error) {
      const listenError = new ListenError(config.host, config.metricsPort, error);
      return startupFailure(EXIT_CODES.listen, `${listenError.message} (METRICS_PORT)`, error);
    }
    logger.info(`metrics on ${serverUrl(metricsServer)}${METRICS_PATH}`, {
      event: { action: 'metrics-listening' },
      recoscope: { url: `${serverUrl(metricsServer)}${METRICS_PATH}` },
    });
  }
  // Before the `listening` line too: once it is written, both APIs answer.
  let grpcServer: RunningGrpcServer | undefined;
  if (config.grpc.port !== undefined) {
    try {
      grpcServer = await startGrpcService({ config, apiKey, prepared, metrics, logger });
    } catch (error) {
      const listenError = new ListenError(config.host, config.grpc.port, error);
      return startupFailure(EXIT_CODES.listen, `${listenError.message} (GRPC_PORT)`, error);
    }
  }
  early.serve(app);
  const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  logger.info(`listening on ${serverUrl(server)} (Node ${process.version})`, {
    event: { action: 'listening' },
    recoscope: {
      url: serverUrl(server),
      // Not `models`: the models-ready line's recoscope.models is an object (per-model
      // timings), and one index cannot map the same field as both; Elasticsearch would
      // reject (and Filebeat drop) this line.
      model_names: models.names(),
      experiments: experiments.names(),
      startup_ms: Math.round(startupMs),
      rss_bytes: process.memoryUsage().rss,
      log_file: config.log.fileEnabled ? logFilePath(config.log) : null,
      node_version: process.version,
      tracing: tracingEnabled(),
      fault_user_divisor: config.faultUserDivisor,
      profiling: config.profiling.enabled,
      grpc_port: grpcServer?.port ?? null,
    },
  });

  installShutdown(server, config.shutdownTimeoutMs, metricsServer, grpcServer);
}

/** Logs without ever throwing: the crash handler must not crash again. */
function safeLog(level: 'error' | 'warn' | 'info', message: string, meta: Record<string, unknown>): void {
  try {
    logger.log(level, message, meta);
  } catch (error) {
    process.stderr.write(`recoscope: ${message} (and logging it failed: ${String(error)})\n`);
  }
}

/** The served models' info and load times, as the metrics registry shows them. */
function setServedModels(metrics: ServiceMetrics, prepared: PreparedModels): void {
  const versions = prepared.registry.servedVersions();
  metrics.setModels(
    prepared.registry.names().map((name) => {
      const timing = prepared.timings.models[name];
      return {
        model: name,
        version: versions.get(name) ?? 'unversioned',
        datasetFingerprint: prepared.dataset.fingerprint,
        source: timing?.source ?? 'trained',
        loadSeconds: (timing?.ms ?? 0) / 1000,
      };
    }),
    prepared.timings.datasetMs / 1000,
  );
}

/**
 * SIGHUP: re-read the model registry and swap in what its aliases now name (src/models/
 * serving.ts logs each change as model-promoted, each refusal as model-refused).
 */
function installModelReload(prepared: PreparedModels): void {
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the models from the registry', { event: { action: 'model-reload' } });
    prepared.registry.reload().catch((error: unknown) => {
      logger.error(`model reload failed, the models loaded before keep serving: ${error instanceof Error ? error.message : String(error)}`, {
        event: { action: 'model-reload-failed' },
      });
    });
  });
}

/**
 * SIGTERM/SIGINT: stop accepting, drain in-flight requests, stop tracing, then write out every
 * accepted log line of every output, then exit. The whole sequence is bounded by
 * SHUTDOWN_TIMEOUT_MS: the drain gets it minus a reserve for the log flush (a quarter, at
 * most 2 s), the flush whatever is left (at least the reserve).
 */
function installShutdown(server: Server, timeoutMs: number, metricsServer: Server | undefined, grpcServer: RunningGrpcServer | undefined): void {
  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    const deadline = Date.now() + timeoutMs;
    const flushReserve = Math.min(2_000, Math.floor(timeoutMs / 4));
    safeLog('info', `shutting down (${reason}): draining requests`, { event: { action: 'shutdown' } });
    const drainMs = timeoutMs - flushReserve;
    // HTTP and gRPC drain side by side, under the same bound.
    const [drained, grpcDrained] = await Promise.all([drain(server, drainMs), grpcServer?.drain(drainMs) ?? true]);
    if (!drained) safeLog('warn', `drain timed out after ${drainMs} ms: remaining connections were closed`, {});
    if (!grpcDrained) safeLog('warn', `gRPC drain timed out after ${drainMs} ms: remaining calls were cancelled`, {});
    if (metricsServer !== undefined) await closeMetrics(metricsServer);
    await shutdownTracing();
    await stopProfiling();
    safeLog('info', 'shutdown complete', { event: { action: 'shutdown-complete' } });
    await flushLogger(Math.max(flushReserve, deadline - Date.now()));
    process.exit(exitCode);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  let crashed = false;
  process.on('uncaughtException', (error) => {
    if (crashed) {
      // A second failure while shutting down after the first: say it, never throw again.
      process.stderr.write(`recoscope: uncaught exception during crash shutdown: ${error.stack ?? String(error)}\n`);
      return;
    }
    crashed = true;
    safeLog('error', 'uncaught exception', { err: error });
    void shutdown('uncaught exception', 1);
  });
  process.on('unhandledRejection', (reason) => {
    safeLog('error', 'unhandled promise rejection', { err: reason instanceof Error ? reason : new Error(String(reason)) });
  });
}

main().catch(async (error: unknown) => {
  await startupFailure(EXIT_CODES.failure, `start-up failed: ${error instanceof Error ? error.message : String(error)}`, error);
});
