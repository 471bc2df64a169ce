/**
 * Span losses are counted: the SDK's real BatchSpanProcessor, wired with the service's drop
 * counting hook, against an exporter that never answers (a full queue) and the real OTLP
 * exporter pointed at a closed port (failed exports). Also the metric family on /metrics.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ROUTES } from '../../src/contracts';
import { ServiceMetrics } from '../../src/observability/metrics';
import { spanDropCounts } from '../../src/observability/telemetry-loss';
import { spanDropMeterProvider } from '../../src/observability/tracing/sdk';
import { parseExposition, sampleValue, seriesOf } from '../helpers/metrics';

type ExportDone = Parameters<SpanExporter['export']>[1];

/** Takes spans and never reports back: the processor's one export stays in flight. */
class StalledExporter implements SpanExporter {
  received = 0;
  export(spans: ReadableSpan[], _done: ExportDone): void {
    this.received += spans.length;
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function tracerWith(
  exporter: SpanExporter,
  batch: { maxQueueSize: number; maxExportBatchSize: number; scheduledDelayMillis: number; exportTimeoutMillis?: number },
) {
  const drops = spanDropMeterProvider();
  const processor = new BatchSpanProcessor({ exporter, exportTimeoutMillis: 60_000, ...batch, selfObsMeterProvider: drops.provider });
  const provider = new TracerProvider({ spanProcessors: [processor] });
  return { tracer: provider.getTracer('test'), drops, provider };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('span drops', () => {
  it('counts spans refused by a full queue, and reads the queue length', async () => {
    const before = spanDropCounts();
    const exporter = new StalledExporter();
    // Batch of 2: the first two spans go to the stalled export, the next 3 fill the queue. The
    // export times out after 200 ms, so the shutdown below ends (a 60 s timeout kept the test
    // process alive for two minutes after its last assertion).
    const { tracer, drops, provider } = tracerWith(exporter, { maxQueueSize: 3, maxExportBatchSize: 2, scheduledDelayMillis: 3_600_000, exportTimeoutMillis: 200 });
    for (let i = 0; i < 10; i++) tracer.startSpan(`s${i}`).end();
    assert.equal(exporter.received, 2);
    assert.equal(drops.queued(), 3);
    const after = spanDropCounts();
    assert.equal(after.queue_full - before.queue_full, 5, '10 ended: 2 exporting, 3 queued, 5 dropped');
    assert.equal(after.export_failed - before.export_failed, 0);
    await provider.shutdown().catch(() => undefined);
  });

  it('counts the spans of exports that failed (collector not listening)', async () => {
    const before = spanDropCounts();
    const port = await closedPort();
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, timeoutMillis: 2_000 });
    const { tracer, provider } = tracerWith(exporter, { maxQueueSize: 100, maxExportBatchSize: 4, scheduledDelayMillis: 10 });
    for (let i = 0; i < 4; i++) tracer.startSpan(`s${i}`).end();
    await waitUntil(() => spanDropCounts().export_failed - before.export_failed >= 4, 'the failed export to be counted');
    assert.equal(spanDropCounts().export_failed - before.export_failed, 4);
    assert.equal(spanDropCounts().queue_full - before.queue_full, 0);
    await provider.shutdown().catch(() => undefined);
  });

  it('exposes every reason on /metrics from the start, with the counts', async () => {
    const m = new ServiceMetrics({ routes: Object.values(ROUTES), defaultMetrics: false });
    const counts = spanDropCounts();
    const s = parseExposition(await m.render(false));
    assert.equal(seriesOf(s, 'recoscope_telemetry_dropped_total').filter((x) => x.labels.signal === 'span').length, 3);
    for (const reason of ['queue_full', 'export_failed', 'shutdown'] as const) {
      assert.equal(sampleValue(s, 'recoscope_telemetry_dropped_total', { signal: 'span', reason, output: 'otlp' }), counts[reason]);
    }
    const om = parseExposition(await m.render(true));
    assert.equal(sampleValue(om, 'recoscope_telemetry_dropped_total', { signal: 'span', reason: 'queue_full', output: 'otlp' }), counts.queue_full);
  });
});
