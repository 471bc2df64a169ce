/**
 * Starts the OpenTelemetry Node SDK. Loaded ONLY by startTracing() (index.ts), and only when
 * an OTLP endpoint is configured: every SDK import lives in this file.
 *
 * - Resource: service.name (OTEL_SERVICE_NAME, default the package name "recoscope"),
 *   service.version (package.json), deployment.environment(.name) (SERVICE_ENVIRONMENT),
 *   plus the SDK's detectors and OTEL_RESOURCE_ATTRIBUTES.
 * - Sampler: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, validated by src/config.ts and
 *   built here (default parentbased_always_on).
 * - Export: OTLP/HTTP to the configured traces URL, protobuf (default) or JSON
 *   (OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL), through a BatchSpanProcessor (OTEL_BSP_*).
 * - No instrumentations: the server and route spans come from our own middleware
 *   (http.ts), which records no request headers, so the Authorization header never reaches
 *   a span. sdk-node still installs the AsyncLocalStorage context manager and the W3C
 *   trace-context + baggage propagators (OTEL_PROPAGATORS).
 * - No metrics and no OTel logs pipeline: recoscope's logs go through winston → Filebeat.
 */
import cluster from 'node:cluster';
import { createNoopMeter, diag, DiagLogLevel, trace, type Attributes, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { writeSync } from 'node:fs';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type * as JsonExporterModule from '@opentelemetry/exporter-trace-otlp-http';
import type * as ProtoExporterModule from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../../config';
import { SERVICE_VERSION } from '../service-info';
import { rateLimitedDiagLogger, type DiagSink } from './diag-logger';
import { setTracingRuntime } from './state';
import { countSpanDrops } from '../telemetry-loss';

const TRACER_NAME = 'recoscope';

const DIAG_LEVEL: Record<TracingConfig['diagLogLevel'], DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

export function buildSampler(name: TracingConfig['sampler'], ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

function buildExporter(config: TracingConfig): SpanExporter {
  const options = { url: config.tracesUrl, timeoutMillis: config.exportTimeoutMs };
  // Only the chosen serialisation is loaded.
  if (config.protocol === 'http/json') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only the configured exporter loads
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof JsonExporterModule;
    return new OTLPTraceExporter(options);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only the configured exporter loads
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof ProtoExporterModule;
  return new OTLPTraceExporter(options);
}

/** The batch processor's own count of finished spans (semconv otel.sdk.processor.span.processed). */
const SPANS_PROCESSED = 'otel.sdk.processor.span.processed';

/**
 * Where the batch processor reports its losses. Its self-observability hook (an experimental
 * SDK option; the unit test test/unit/span-drops.test.ts fails if an upgrade changes it) adds
 * to `otel.sdk.processor.span.processed` once per span batch, with `error.type` set when the
 * spans were lost: "queue_full" when the queue was full, the export error's name otherwise.
 * Only that counter is kept; every other instrument is the API's no-op. Also reads the
 * queue length (an observable the processor registers), for what a timed-out shutdown loses.
 */
export function spanDropMeterProvider(): { provider: MeterProvider; queued: () => number } {
  const noop = createNoopMeter();
  let queueSize: (() => number) | undefined;
  const processed: Counter = {
    add(count: number, attributes?: Attributes) {
      const type = attributes?.['error.type'];
      if (type === undefined) return;
      countSpanDrops(type === 'queue_full' ? 'queue_full' : 'export_failed', count);
    },
  };
  const meter: Meter = {
    createGauge: (name, options) => noop.createGauge(name, options),
    createHistogram: (name, options) => noop.createHistogram(name, options),
    createCounter: (name, options) => (name === SPANS_PROCESSED ? processed : noop.createCounter(name, options)),
    createUpDownCounter: (name, options) => noop.createUpDownCounter(name, options),
    createObservableGauge: (name, options) => noop.createObservableGauge(name, options),
    createObservableCounter: (name, options) => noop.createObservableCounter(name, options),
    createObservableUpDownCounter: (name, options) => {
      const instrument = noop.createObservableUpDownCounter(name, options);
      if (name !== 'otel.sdk.processor.span.queue.size') return instrument;
      // The processor registers a callback that observes its queue length; keep it.
      return Object.assign(Object.create(instrument) as typeof instrument, {
        addCallback: (callback: Parameters<typeof instrument.addCallback>[0]) => {
          queueSize = () => {
            let value = 0;
            void callback({ observe: (v: number) => (value = v) });
            return value;
          };
        },
        removeCallback: () => undefined,
      });
    },
    addBatchObservableCallback: () => undefined,
    removeBatchObservableCallback: () => undefined,
  };
  return { provider: { getMeter: () => meter }, queued: () => queueSize?.() ?? 0 };
}

/**
 * How many sampled spans ended and how many the collector accepted, so that spans that could
 * not be exported (an export that failed, a full queue, or still queued at exit) are a
 * number, said on stderr at shutdown, rather than a rate-limited diagnostic.
 */
const spanCounts = { ended: 0, exported: 0, failedExport: 0 };

class EndedSpanCounter implements SpanProcessor {
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    // Bit 0 of the trace flags: sampled, the only spans the batch processor queues.
    if ((span.spanContext().traceFlags & 1) === 1) spanCounts.ended++;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function countingExporter(inner: SpanExporter): SpanExporter {
  return {
    export: (spans, done) =>
      inner.export(spans, (result) => {
        // ExportResultCode.SUCCESS is 0 (@opentelemetry/core, not a direct dependency).
        if ((result.code as number) === 0) spanCounts.exported += spans.length;
        else spanCounts.failedExport += spans.length;
        done(result);
      }),
    shutdown: () => inner.shutdown(),
    ...(inner.forceFlush === undefined ? {} : { forceFlush: () => inner.forceFlush!() }),
  };
}

function reportSpanCounts(): void {
  const { ended, exported, failedExport } = spanCounts;
  try {
    writeSync(
      2,
      `recoscope: tracing: ${ended} spans ended, ${exported} exported, ${ended - exported} not exported ` +
        `(${failedExport} in failed exports; the rest dropped by the full queue or unsent at exit)\n`,
    );
  } catch {
    // stderr is gone: nothing else can be told.
  }
}

/** Bounded: resolves after `ms` even if the collector never answers. */
async function withTimeout(work: Promise<void>, ms: number, onTimeout: () => void = () => undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      diag.warn(`tracing shutdown did not finish within ${ms} ms; unexported spans are dropped`);
      onTimeout();
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

export function startSdk(config: TracingConfig, sink: DiagSink): void {
  const diagLogger = rateLimitedDiagLogger(sink, config.diagLogIntervalMs);
  const environment = config.serviceEnvironment;
  const drops = spanDropMeterProvider();

  const sdk = new NodeSDK({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: SERVICE_VERSION,
        // Current semconv name, and the older one that Jaeger, Kibana and the collector's
        // ECS mapping (→ service.environment) still read.
        'deployment.environment.name': environment,
        'deployment.environment': environment,
        // Under the supervisor (WORKERS > 1): which worker process served the trace (the
        // cluster's worker id, a new one each time a worker is forked; process.pid is there too).
        ...(cluster.isWorker && cluster.worker !== undefined ? { 'recoscope.worker.id': cluster.worker.id } : {}),
      }),
    ),
    sampler: buildSampler(config.sampler, config.samplerRatio),
    spanProcessors: [new EndedSpanCounter(), new BatchSpanProcessor({ exporter: countingExporter(buildExporter(config)), ...config.batch, selfObsMeterProvider: drops.provider })],
    // Traces only: without these, sdk-node would also start OTLP metrics and logs exporters.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  // After the constructor: NodeSDK installs a console diag logger when OTEL_LOG_LEVEL is set.
  diag.setLogger(diagLogger, { logLevel: DIAG_LEVEL[config.diagLogLevel], suppressOverrideMessage: true });
  sdk.start();

  const tracer = trace.getTracer(TRACER_NAME, SERVICE_VERSION);
  let stopping: Promise<void> | undefined;
  setTracingRuntime({
    tracer,
    shutdown: () => {
      stopping ??= withTimeout(sdk.shutdown(), config.shutdownTimeoutMs, () => countSpanDrops('shutdown', drops.queued())).finally(() => {
        reportSpanCounts();
        diagLogger.flush();
        // The process is about to end its logger and exit: late exporter retries must not
        // write to a closed logger.
        diag.disable();
      });
      return stopping;
    },
  });
}
