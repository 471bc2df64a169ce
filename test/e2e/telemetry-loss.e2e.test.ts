/**
 * Telemetry loss is counted where an operator sees it: the real service traces every request
 * to a real OpenTelemetry Collector under closed-loop load; the collector is stopped while
 * the load goes on, and `recoscope_telemetry_dropped_total{signal="span"}` on /metrics moves
 * (export_failed: the batches that could not be sent; queue_full once the processor's queue
 * is full behind them). Nothing is asserted about how fast: the counter is polled with a
 * deadline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { parseExposition, sampleValue, type Sample } from '../helpers/metrics';
import { startService, type RunningService } from '../helpers/service';
import { startLoad, type LoadHandle } from '../durability/durability';
import { freePort, waitFor } from './stack';
import { startCollector, waitForSpans, type TestCollector } from './trace-helpers';

const API_KEY = 'e2e-telemetry-loss-key-5d21';
const DROPPED = 'recoscope_telemetry_dropped_total';

describe('telemetry loss accounting (collector stopped under load)', () => {
  let collector: TestCollector | undefined;
  let service: RunningService | undefined;
  let load: LoadHandle | undefined;
  let metricsUrl: string;

  const scrape = async (): Promise<Sample[]> => {
    const res = await rawRequest(metricsUrl, '/metrics');
    assert.equal(res.status, 200);
    return parseExposition(res.body);
  };
  const spanDrops = (s: Sample[], reason: string): number => sampleValue(s, DROPPED, { signal: 'span', reason, output: 'otlp' });

  before(async () => {
    collector = await startCollector('telemetry-loss');
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    service = await startService({
      env: {
        API_KEY,
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        // A refused connection is retried until this bound; keep the failure short.
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        SERVICE_ENVIRONMENT: 'e2e',
      },
    });
  });

  after(async () => {
    await load?.stop();
    await service?.stop();
    await collector?.stop();
  });

  it('counts spans lost while the collector is down, and exposes log losses per output from the start', async () => {
    assert.ok(service !== undefined && collector !== undefined);
    const first = await scrape();
    // Every reason exists before anything is lost (so increase() sees the first drop).
    for (const reason of ['queue_full', 'export_failed', 'shutdown']) {
      assert.ok(first.some((s) => s.name === DROPPED && s.labels.signal === 'span' && s.labels.reason === reason), `span ${reason} series`);
    }
    assert.ok(first.some((s) => s.name === DROPPED && s.labels.signal === 'log' && s.labels.output === 'file'), 'log file series');

    load = startLoad({ url: service.url, apiKey: API_KEY, connections: 8, durationSeconds: 300, userAgent: 'telemetry-loss-e2e' });
    // Spans arrive while the collector is up.
    await waitForSpans(collector.filePath, (spans) => spans.length >= 50, '50 spans', 60_000);
    const up = await scrape();
    const failedBefore = spanDrops(up, 'export_failed');

    await collector.stop();
    collector = undefined;
    const down = await waitFor(
      async () => {
        const s = await scrape();
        return spanDrops(s, 'export_failed') > failedBefore ? s : undefined;
      },
      90_000,
      'recoscope_telemetry_dropped_total{signal="span",reason="export_failed"} to move after the collector stopped',
    );
    const okDuring = load.ok();
    await load.stop();
    const failed = spanDrops(down, 'export_failed') - failedBefore;
    const queueFull = spanDrops(down, 'queue_full');
    console.log(`# collector stopped: ${failed} spans counted export_failed, ${queueFull} queue_full so far; ${okDuring} requests answered 2xx`);
    assert.ok(failed > 0);
    // The service kept answering: losing telemetry never fails a request.
    assert.ok(load.ok() > 0);
    const health = await rawRequest(service.url, '/health');
    assert.equal(health.status, 200);
  });
});
