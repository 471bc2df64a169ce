/**
 * The request lifecycle with logs, metrics and tracing all on, in process: one `close`
 * listener per request, and the access line's `event.duration`, the latency histogram's
 * observation and the server span's duration are the same interval (the same two clock
 * readings). Tracing is the service's own SDK set-up (startTracing), exporting OTLP/HTTP JSON
 * to a receiver in this process; logs go through the service's logger to the log writer's
 * memory output; the metrics are the service's registry.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadTracingConfig } from '../../src/config';
import { ROUTES } from '../../src/contracts';
import { createApp } from '../../src/http/app';
import { drain, listen, serverUrl } from '../../src/http/server';
import { ModelRegistry } from '../../src/models/registry';
import { timedModels } from '../../src/models/timed';
import { ServiceMetrics } from '../../src/observability/metrics';
import { shutdownTracing, startTracing } from '../../src/observability/tracing';
import { rawRequest } from '../helpers/http';
import { MemoryLog } from '../helpers/memory-log';
import { parseExposition, seriesOf } from '../helpers/metrics';
import { accessRecords, field } from '../helpers/service';
import { waitUntil } from '../helpers/wait';

const API_KEY = 'lifecycle-test-key-7d41c2';
const AUTH = { Authorization: `Bearer ${API_KEY}` };

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP JSON traces receiver: keeps every span it is sent. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

describe('one request lifecycle (logs, metrics and tracing on)', () => {
  const log = new MemoryLog();
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let server: Server;
  let url = '';
  let metrics: ServiceMetrics;
  /** `close` listeners on each response once it finished (every one attached by then). */
  const closeListeners: number[] = [];

  before(async () => {
    receiver = await otlpReceiver();
    startTracing(
      loadTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      }),
    );
    log.attach();
    metrics = new ServiceMetrics({ routes: Object.values(ROUTES), defaultMetrics: false });
    const registry = new ModelRegistry();
    registry.add({
      name: 'popular',
      version: 'popular-v1',
      recommend: (_userId, k, stages) => stages.run('reco.score', () => ({ items: Array.from({ length: k }, (_, i) => i), coldStart: false, fallback: 0 })),
    });
    const app = createApp({ models: timedModels(registry, metrics), apiKey: API_KEY, kRecs: 5, metrics });
    const observed = (req: IncomingMessage, res: ServerResponse): void => {
      res.once('finish', () => closeListeners.push(res.listenerCount('close')));
      app(req, res);
    };
    server = await listen(observed, 0, '127.0.0.1');
    url = serverUrl(server);
  });

  after(async () => {
    await drain(server, 5_000);
    await shutdownTracing();
    await new Promise<void>((r) => receiver.server.close(() => r()));
  });

  it('one close listener per request, whatever the route and outcome', async () => {
    closeListeners.length = 0;
    const paths = ['/health', '/reco/popular/1', '/reco/popular/abc', '/reco/nope/1', '/no-such-route'];
    for (const p of paths) await rawRequest(url, p, { headers: AUTH });
    await waitUntil(() => closeListeners.length === paths.length, 'every response finished');
    assert.deepEqual(closeListeners, paths.map(() => 1));
  });

  it("event.duration, the histogram's observation and the span's duration are one interval", async () => {
    const before = parseExposition(await metrics.registry.metrics());
    const sumBefore = seriesOf(before, 'http_server_request_duration_seconds_sum').find((s) => s.labels.route === ROUTES.reco)?.value ?? 0;
    const res = await rawRequest(url, '/reco/popular/42', { headers: { ...AUTH, 'User-Agent': 'lifecycle-one' } });
    assert.equal(res.status, 200);
    const traceId = String(res.headers['x-trace-id']);

    const line = await log.waitFor((r) => field(r, 'user_agent.original') === 'lifecycle-one');
    assert.equal(accessRecords([line]).length, 1);
    assert.equal(field(line, 'trace.id'), traceId);
    const durationNs = field(line, 'event.duration');
    assert.equal(typeof durationNs, 'number');
    assert.ok((durationNs as number) > 0);

    const after = parseExposition(await metrics.registry.metrics());
    const sumAfter = seriesOf(after, 'http_server_request_duration_seconds_sum').find((s) => s.labels.route === ROUTES.reco)?.value ?? 0;
    // The histogram got this one request on the route since `before`: its observation, in
    // seconds, is event.duration to the nanosecond (the float subtraction of the two sums
    // rounds below that; separate clocks would differ by microseconds).
    const observedNs = (sumAfter - sumBefore) * 1e9;
    assert.ok(Math.abs(observedNs - (durationNs as number)) < 1, `histogram ${observedNs} ns, access line ${String(durationNs)} ns`);

    const span = await waitUntil(
      () => receiver.spans.find((s) => s.traceId === traceId && s.kind === 2),
      'the server span at the OTLP receiver',
      10_000,
      20,
    );
    const spanNs = BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano);
    assert.equal(spanNs, BigInt(durationNs as number), 'the span lasts exactly event.duration');
    assert.equal(span.spanId, field(line, 'span.id'));
    // The reco facts reach the span from the same place as the access line.
    const attr = (key: string): unknown => span.attributes?.find((a) => a.key === key)?.value;
    assert.deepEqual(attr('reco.model'), { stringValue: 'popular' });
    assert.equal(field(line, 'reco.model'), 'popular');
    assert.deepEqual(attr('http.route'), { stringValue: ROUTES.reco });
  });
});
