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

async function main(): Promise<void> {
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
  let sampled = 0;
  const one = (i: number): void => {
    const req = { method: 'GET', path: `/reco/knn/${i}`, headers: {} } as unknown as Request;
    const res = new FakeResponse();
    const next: NextFunction = () => {
      void route(req, res as unknown as Response, () => undefined);
    };
    // What the request lifecycle does with tracing on: one clock reading at entry and one at
    // the end, the span started and ended on them (its reco facts added at the end).
    const startedAt = process.hrtime.bigint();
    const span = spans?.start(req, res as unknown as Response, startedAt);
    if (span?.context === undefined) next();
    else context.with(span.context, next);
    if (res.headers.traceparent?.endsWith('-01') === true) sampled++;
    res.writableFinished = true;
    if (span !== undefined) {
      endServerSpan(span, { status: 200, startedAt, durationNs: process.hrtime.bigint() - startedAt, aborted: false, reco, failure: undefined });
    }
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
