/**
 * Probe: server CPU per request of the service's tracing, in process, with no HTTP and no
 * load generator, so the numbers hold on a busy machine. The service's own middleware
 * (the server span of the request lifecycle: `serverSpans`/`endServerSpan`), route wrapper (`tracedRoute`) and stage spans (`requestStages`) run
 * on minimal request/response stand-ins, with the SDK started exactly as the service starts
 * it (`startTracing(loadTracingConfig())`): same sampler, batch processor and OTLP/HTTP
 * exporter, exporting to a sink in this process that reads and discards each body.
 *
 * In chunks of 500 requests (about one default export batch of 512 spans per 85 requests,
 * so memory stays at a server's level), two phases per chunk, each timed with
 * process.cpuUsage() and summed over the run:
 *  - requests: each request is the server span, the route span and four stage spans with
 *    the attributes the service sets; spans are only queued (the batch processor is set to
 *    export nothing until flushed);
 *  - export: forceFlush — OTLP serialisation of the queued spans and their HTTP POST.
 * Without tracing configured, the same loop runs against the no-op facade: that is the
 * harness's own cost, subtracted by the caller.
 *
 *   TRACE_PROBE_REQUESTS=5000 OTEL_EXPORTER_OTLP_ENDPOINT=… OTEL_TRACES_SAMPLER=… node dist/bench/probes/tracing.js
 * (the endpoint is replaced by the in-process sink's address; leave it unset for the baseline).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { context, trace } from '@opentelemetry/api';
import { loadTracingConfig } from '../../src/config';
import { ROUTES } from '../../src/contracts';
import { endServerSpan, requestStages, serverSpans, shutdownTracing, startTracing, tracedRoute } from '../../src/observability/tracing';
import { emit } from './protocol';
import { spanDropCounts } from '../../src/observability/telemetry-loss';

/** TRACE_PROBE_MODE=delivery: a saturated loop exporting to a real collector. */
export interface DeliveryProbeResult {
  requests: number;
  seconds: number;
  sampledRequests: number;
  /** Spans the service counted as lost, per reason (telemetry-loss.ts). */
  dropped: Record<string, number>;
  /** CPU µs per request over the whole run, exporting included. */
  cpuUsPerRequest: number;
}

export interface TracingProbeResult {
  requests: number;
  /** What ran: 'off' (no tracing) or the sampler name, with the protocol. */
  label: string;
  requestCpuUsPerRequest: number;
  exportCpuUsPerRequest: number;
  sampledRequests: number;
  exportedBytes: number;
}

/** A minimal response: what the middleware and route wrapper touch. */
class FakeResponse extends EventEmitter {
  locals: Record<string, unknown> = {};
  statusCode = 200;
  writableFinished = false;
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }
}

function startSink(): Promise<{ server: Server; url: string; bytes: () => number }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' });
      res.end();
    });
  });
  return new Promise((resolveSink) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolveSink({ server, url: `http://127.0.0.1:${port}`, bytes: () => bytes });
    });
  });
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const CHUNK = 500;

/**
 * One simulated /reco request, as the request lifecycle runs it with tracing on: one clock
 * reading at entry and one at the end, the span started and ended on them (its reco facts
 * added at the end), the route span and the stage spans inside. Returns whether it was sampled.
 */
function requestDriver(): (i: number) => boolean {
  const spans = serverSpans();
  const reco = { model: 'knn', user_id: 42, k: 10 };
  const route = tracedRoute(ROUTES.reco, (_req: Request, res: Response) => {
    const stages = requestStages();
    stages.run('reco.load_history', (s) => s.setAttributes({ 'reco.history_length': 12 }));
    stages.run('reco.score', (s) => s.setAttributes({ 'reco.model': 'knn', 'reco.history_length': 12, 'reco.neighbours_visited': 600, 'reco.candidates': 400 }));
    stages.run('reco.filter_seen', () => undefined);
    stages.run('reco.fill_popular', (s) => s.setAttributes({ 'reco.fallback': 0 }));
    res.statusCode = 200;
  });
  return (i: number): boolean => {
    const req = { method: 'GET', path: `/reco/knn/${i}`, headers: {} } as unknown as Request;
    const res = new FakeResponse();
    const next: NextFunction = () => {
      void route(req, res as unknown as Response, () => undefined);
    };
    const startedAt = process.hrtime.bigint();
    const span = spans?.start(req, res as unknown as Response, startedAt);
    if (span?.context === undefined) next();
    else context.with(span.context, next);
    const sampled = res.headers.traceparent?.endsWith('-01') === true;
    res.writableFinished = true;
    if (span !== undefined) {
      endServerSpan(span, { status: 200, startedAt, durationNs: process.hrtime.bigint() - startedAt, aborted: false, reco, failure: undefined });
    }
    return sampled;
  };
}

async function main(): Promise<void> {
  if (process.env.TRACE_PROBE_MODE === 'delivery') return delivery();
  const n = Number.parseInt(process.env.TRACE_PROBE_REQUESTS ?? '5000', 10);
  const sink = await startSink();
  const traced = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
  if (traced) {
    // Queue everything, export only on flush: the two phases are timed apart.
    const env = {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_BSP_MAX_QUEUE_SIZE: String(CHUNK * 8),
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '512',
      OTEL_BSP_SCHEDULE_DELAY: '3600000',
    };
    startTracing(loadTracingConfig(env));
  }
  const config = loadTracingConfig(process.env);
  const drive = requestDriver();
  let sampled = 0;
  const one = (i: number): void => {
    if (drive(i)) sampled++;
  };
  // Warm-up (optimised code, as in a warm server), then flush it away untimed.
  for (let i = 0; i < 2_000; i++) one(i);
  if (traced) await flush();
  sampled = 0;
  const bytesBefore = sink.bytes();
  let requestUs = 0;
  let exportUs = 0;
  for (let done = 0; done < n; done += CHUNK) {
    const t0 = cpuUs();
    for (let i = done; i < Math.min(n, done + CHUNK); i++) one(i);
    const t1 = cpuUs();
    if (traced) await flush();
    requestUs += t1 - t0;
    exportUs += cpuUs() - t1;
  }
  const result: TracingProbeResult = {
    requests: n,
    label: traced ? `${config.sampler}${config.sampler.includes('ratio') ? ` ${config.samplerRatio}` : ''}, ${config.protocol}` : 'off',
    requestCpuUsPerRequest: requestUs / n,
    exportCpuUsPerRequest: exportUs / n,
    sampledRequests: sampled,
    exportedBytes: sink.bytes() - bytesBefore,
  };
  await shutdownTracing();
  sink.server.close();
  emit(result);
  process.exit(0);
}

/**
 * Delivery under saturation: the service's request tracing as fast as one core runs it for
 * TRACE_PROBE_SECONDS, 40 requests per turn of the event loop (a saturated server's loop
 * also handles I/O between batches of requests), exporting through the configured batch
 * processor (OTEL_BSP_*) to the real collector at OTEL_EXPORTER_OTLP_ENDPOINT; then a
 * bounded shutdown flush. Reports what was sampled and what the service counted as lost.
 */
async function delivery(): Promise<void> {
  const seconds = Number.parseFloat(process.env.TRACE_PROBE_SECONDS ?? '5');
  startTracing(loadTracingConfig(process.env));
  if (serverSpans() === undefined) throw new Error('delivery mode needs OTEL_EXPORTER_OTLP_ENDPOINT');
  const drive = requestDriver();
  let sampled = 0;
  let requests = 0;
  const one = (i: number): void => {
    if (drive(i)) sampled++;
  };
  // TRACE_PROBE_RATE > 0: that many requests per second (paced per turn), else as fast as possible.
  const rate = Number.parseFloat(process.env.TRACE_PROBE_RATE ?? '0');
  const t0 = cpuUs();
  const startedAt = Date.now();
  const end = startedAt + seconds * 1000;
  for (let now = startedAt; now < end; now = Date.now()) {
    const due = rate > 0 ? Math.min(40, Math.floor(((now - startedAt) / 1000) * rate) - requests) : 40;
    for (let i = 0; i < due; i++) one(requests++);
    await new Promise<void>((r) => (due > 0 ? setImmediate(r) : setTimeout(r, 1)));
  }
  const cpu = cpuUs() - t0;
  await shutdownTracing();
  const result: DeliveryProbeResult = {
    requests,
    seconds,
    sampledRequests: sampled,
    dropped: { ...spanDropCounts() },
    cpuUsPerRequest: cpu / requests,
  };
  emit(result);
  process.exit(0);
}

/** forceFlush on the SDK's provider: serialise and POST everything queued. */
async function flush(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const delegate = (provider.getDelegate?.() ?? provider) as { forceFlush?: () => Promise<void> };
  await delegate.forceFlush?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
