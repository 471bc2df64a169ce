/**
 * Starts the OpenTelemetry Node SDK. Loaded ONLY by register.ts, and only when an OTLP
 * endpoint is configured: every SDK import lives in this file.
 *
 * - Resource: service.name (OTEL_SERVICE_NAME, default the package name "recoscope"),
 *   service.version (package.json), deployment.environment(.name) (SERVICE_ENVIRONMENT),
 *   plus the SDK's detectors and OTEL_RESOURCE_ATTRIBUTES.
 * - Sampler: from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read by sdk-node itself
 *   (default parentbased_always_on).
 * - Export: OTLP/HTTP (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, read by the exporter) through a
 *   BatchSpanProcessor that sdk-node builds from OTEL_BSP_* (default: every 5 s or 512 spans).
 * - Instrumentations: http (server spans; outgoing requests to the collector are ignored; no
 *   request headers are recorded, so the Authorization header never reaches a span) and
 *   express (router / route handler spans; plain middleware layers are not spanned).
 * - No metrics and no OTel logs pipeline: recoscope's logs go through winston → Filebeat.
 */
import type { RequestOptions } from 'node:http';
import { context, diag, DiagLogLevel, trace, type Span } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type * as LoggerModule from '../logger';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { rateLimitedDiagLogger, type DiagSink } from './diag-logger';
import { collectorAddresses, diagLogIntervalMs, shutdownTimeoutMs, type Env } from './settings';
import { setTracingRuntime } from './state';

const TRACER_NAME = 'recoscope';

function diagLevelFromEnv(env: Env): DiagLogLevel {
  switch ((env.OTEL_LOG_LEVEL ?? '').trim().toLowerCase()) {
    case 'none':
      return DiagLogLevel.NONE;
    case 'error':
      return DiagLogLevel.ERROR;
    case 'info':
      return DiagLogLevel.INFO;
    case 'debug':
      return DiagLogLevel.DEBUG;
    case 'verbose':
      return DiagLogLevel.VERBOSE;
    case 'all':
      return DiagLogLevel.ALL;
    default:
      return DiagLogLevel.WARN;
  }
}

/**
 * The winston logger, required on first use rather than at load: register.ts runs before
 * anything else and must not drag the logging stack in ahead of the instrumentations.
 */
const loggerSink: DiagSink = (level, message, fields) => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    const { logger } = require('../logger') as typeof LoggerModule;
    logger.log(level, message, {
      event: { action: 'otel-diagnostic' },
      recoscope: { otel: { level: fields.otelLevel, suppressed: fields.suppressed } },
    });
  } catch {
    process.stderr.write(`${message}\n`);
  }
};

function isCollectorRequest(options: RequestOptions, collectors: Set<string>): boolean {
  const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = options.port ?? (options.protocol === 'https:' ? 443 : 80);
  return collectors.has(`${host}:${String(port)}`);
}

/** Bounded: resolves after `ms` even if the collector never answers. */
async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      diag.warn(`tracing shutdown did not finish within ${ms} ms; unexported spans are dropped`);
      resolve();
    }, ms);
    timer.unref();
  });
  try {
    await Promise.race([work.catch((error: unknown) => diag.warn('tracing shutdown failed', error)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function startSdk(env: Env = process.env): void {
  const diagLogger = rateLimitedDiagLogger(loggerSink, diagLogIntervalMs(env));
  const collectors = collectorAddresses(env);
  const environment = env.SERVICE_ENVIRONMENT?.trim() || 'development';

  const sdk = new NodeSDK({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: SERVICE_NAME,
        [ATTR_SERVICE_VERSION]: SERVICE_VERSION,
        // Current semconv name, and the older one that Jaeger, Kibana and the collector's
        // ECS mapping (→ service.environment) still read.
        'deployment.environment.name': environment,
        'deployment.environment': environment,
      }),
    ),
    // sdk-node wraps this in a BatchSpanProcessor configured from OTEL_BSP_*.
    traceExporter: new OTLPTraceExporter(),
    // Traces only: without these, sdk-node would also start OTLP metrics and logs exporters.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreOutgoingRequestHook: (options) => isCollectorRequest(options, collectors),
        // Deliberately no headersToSpanAttributes: request headers (Authorization!) stay out.
      }),
      new ExpressInstrumentation({
        // Middleware spans (the access log, 404 handler) are zero-length noise; the route
        // span ("request handler - /reco/:model_name/:user_id") is what a trace needs.
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE],
        // Express 5 (router 2) layers have no `path` until matched, so the instrumentation
        // names route spans just "request handler"; put the route template back.
        spanNameHook: (info, defaultName) =>
          info.layerType === ExpressLayerType.REQUEST_HANDLER && info.route !== '' ? `request handler - ${info.route}` : defaultName,
      }),
    ],
  });
  // After the constructor: NodeSDK installs a console diag logger when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagLogger, { logLevel: diagLevelFromEnv(env), suppressOverrideMessage: true });
  sdk.start();

  const tracer = trace.getTracer(TRACER_NAME, SERVICE_VERSION);
  let stopping: Promise<void> | undefined;
  setTracingRuntime({
    tracer,
    serverSpan: (): Span | undefined => getRPCMetadata(context.active())?.span,
    shutdown: () => {
      stopping ??= withTimeout(sdk.shutdown(), shutdownTimeoutMs(env)).finally(() => {
        diagLogger.flush();
        // The process is about to end its logger and exit: late exporter retries must not
        // write to a closed logger.
        diag.disable();
      });
      return stopping;
    },
  });
}
