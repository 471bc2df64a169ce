/**
 * Metrics on a real Prometheus (Debian's package, stack/prometheus.sh) scraping the real
 * service, which traces to a real OpenTelemetry Collector:
 *  - PromQL over the HTTP API returns exactly the counts of a known mix of requests;
 *  - histogram_quantile answers for the request and model-call histograms;
 *  - exemplars (/api/v1/query_exemplars) carry trace ids the collector received;
 *  - with FAULT_USER_DIVISOR=666 and fault traffic the 5xx alert goes pending → firing
 *    (the rule's expression as shipped; only its `for:` is shortened to 5s here).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { startService, type RunningService } from '../helpers/service';
import { freePort, orphans, waitFor, type TestStack } from './stack';
import { rulesWithShortFor, startPrometheus, type PromSample, type TestPrometheus } from './prometheus-helpers';
import { startCollector, waitForSpans, type TestCollector } from './trace-helpers';
import { ROUTES } from '../../src/contracts';

const API_KEY = 'e2e-metrics-key-71c0d4';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const JOB = 'job="recoscope"';
const RECO_ROUTE = `route="${ROUTES.reco}"`;

/** `{label: value}` of a `sum by (label)` result. */
function byLabel(result: PromSample[], label: string): Record<string, number> {
  return Object.fromEntries(result.map((s) => [s.metric[label] ?? '', Number(s.value[1])]));
}

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

describe('metrics on a real Prometheus', () => {
  let collector: TestCollector;
  let service: RunningService;
  let prometheus: TestPrometheus;
  const traceIds = new Set<string>();

  before(async () => {
    collector = await startCollector('metrics');
    const metricsPort = await freePort();
    service = await startService({
      env: {
        API_KEY,
        FAULT_USER_DIVISOR: '666',
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SERVICE_ENVIRONMENT: 'e2e',
      },
    });
    prometheus = await startPrometheus({
      label: 'metrics',
      targets: [`127.0.0.1:${metricsPort}`],
      rulesDir: rulesWithShortFor({ RecoscopeHigh5xxRatio: '5s' }),
    });
    // The version of the Prometheus this suite ran against, in the test output.
    console.log(`# Prometheus under test: ${prometheus.version} (${prometheus.url})`);
  });

  after(async () => {
    await service?.stop();
    await prometheus?.stop();
    await collector?.stop();
    if (prometheus !== undefined) {
      assert.deepEqual(orphans({ runDir: prometheus.runDir } as TestStack), [], 'processes left behind');
    }
  });

  it('scrapes the service (up == 1) and loads the shipped rule groups', async () => {
    assert.match(prometheus.version, /^prometheus, version \d+\.\d+\.\d+/);
    await waitFor(async () => Number((await prometheus.query(`up{${JOB}}`))[0]?.value[1]) === 1, 30_000, 'up{job="recoscope"} == 1');
    const rules = await prometheus.api<{ groups: { name: string; rules: { name: string; type: string }[] }[] }>('/api/v1/rules');
    assert.deepEqual(rules.groups.map((g) => g.name).sort(), ['recoscope-availability', 'recoscope-model-quality', 'recoscope-slo', 'recoscope-telemetry']);
    const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => r.name)).sort();
    assert.deepEqual(alerts, [
      'RecoLatencyBudgetFastBurn',
      'RecoLatencyBudgetSlowBurn',
      'RecoscopeColdStartOrFallbackJump',
      'RecoscopeDown',
      'RecoscopeHigh5xxRatio',
      'RecoscopeTelemetryDropped',
    ]);
  });

  it('PromQL returns exactly the counts of a known mix, per model, outcome and status', async () => {
    const mix: [string, Record<string, string>, number][] = [];
    for (let u = 1; u <= 12; u++) mix.push([`/reco/popular/${u}`, AUTH, 200]);
    for (let u = 13; u <= 20; u++) mix.push([`/reco/knn/${u}`, AUTH, 200]);
    for (let u = 1; u <= 4; u++) mix.push([`/reco/knn/${999_999_900 + u}`, AUTH, 200]); // cold start
    mix.push(['/reco/knn/666', AUTH, 500]); // injected fault
    for (let u = 1; u <= 3; u++) mix.push([`/reco/model_${u}/1`, AUTH, 404]); // unknown model
    mix.push(['/reco/knn/1', {}, 401]);
    for (const [path, headers, status] of mix) {
      const res = await rawRequest(service.url, path, { headers });
      assert.equal(res.status, status, `${path}: ${res.body}`);
      traceIds.add(String(res.headers['x-trace-id']));
    }
    // Wait for a scrape that has all of them (bounded; no timing is asserted).
    await waitFor(
      async () => Number((await prometheus.query(`sum(recoscope_recommendations_total{${JOB}})`))[0]?.value[1]) === mix.length,
      30_000,
      `${mix.length} recommendations in Prometheus`,
    );
    const perModel = byLabel(await prometheus.query(`sum by (model) (recoscope_recommendations_total{${JOB}})`), 'model');
    assert.deepEqual(perModel, { popular: 12, knn: 8 + 4 + 1 + 1, unknown: 3 });
    const perStatus = byLabel(
      await prometheus.query(`sum by (status_code) (http_server_request_duration_seconds_count{${JOB}, ${RECO_ROUTE}})`),
      'status_code',
    );
    assert.deepEqual(perStatus, { '200': 24, '500': 1, '404': 3, '401': 1 });
    const perOutcome = byLabel(
      await prometheus.query(`sum by (outcome) (recoscope_recommendations_total{${JOB}, outcome!~"ok|fallback"})`),
      'outcome',
    );
    assert.deepEqual(perOutcome, { cold_start: 4, server_error: 1, model_not_found: 3, unauthorized: 1 });
    const okish = byLabel(await prometheus.query(`sum by (model) (recoscope_recommendations_total{${JOB}, outcome=~"ok|fallback"})`), 'model');
    assert.deepEqual(okish, { popular: 12, knn: 8 });
    const info = await prometheus.query(`recoscope_model_info{${JOB}}`);
    assert.deepEqual(info.map((s) => s.metric.model).sort(), ['knn', 'knn_cosine', 'knn_tfidf', 'popular']);
  });

  it('histogram_quantile answers for /reco latency and per-model call latency', async () => {
    // rate() needs an increase between two scrapes of a series: keep a trickle of requests
    // going until it has one (bounded, nothing timed).
    const trickle = async (model = 'popular'): Promise<void> => {
      const res = await rawRequest(service.url, `/reco/${model}/${30 + (traceIds.size % 50)}`, { headers: AUTH });
      assert.equal(res.status, 200);
      traceIds.add(String(res.headers['x-trace-id']));
    };
    const p99 = await waitFor(
      async () => {
        await trickle();
        const r = await prometheus.query(
          `histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{${JOB}, ${RECO_ROUTE}}[1m])))`,
        );
        return r.length > 0 && Number.isFinite(Number(r[0]!.value[1])) ? r : undefined;
      },
      30_000,
      'a /reco p99',
    );
    assert.equal(p99.length, 1);
    const seconds = Number(p99[0]!.value[1]);
    assert.ok(Number.isFinite(seconds) && seconds > 0, `p99 = ${p99[0]!.value[1]}`);
    console.log(`# /reco p99 over the last minute: ${(seconds * 1000).toFixed(1)} ms`);
    const perModel = await waitFor(
      async () => {
        await trickle();
        await trickle('knn');
        const r = await prometheus.query(
          `histogram_quantile(0.5, sum by (le, model) (rate(recoscope_model_call_duration_seconds_bucket{${JOB}}[1m])))`,
        );
        return r.length === 2 && r.every((x) => Number.isFinite(Number(x.value[1]))) ? r : undefined;
      },
      30_000,
      'per-model medians',
    );
    assert.deepEqual(perModel.map((s) => s.metric.model).sort(), ['knn', 'popular']);
    for (const s of perModel) assert.ok(Number(s.value[1]) > 0, JSON.stringify(s));
  });

  it('exemplars link latency buckets to traces the collector received', async () => {
    const end = Date.now() / 1000 + 60;
    const start = end - 3600;
    type ExemplarSeries = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] };
    const series = await waitFor(
      async () => {
        const data = await prometheus.api<ExemplarSeries[]>(
          `/api/v1/query_exemplars?query=${encodeURIComponent(`http_server_request_duration_seconds_bucket{${JOB}}`)}&start=${start}&end=${end}`,
        );
        return data.length > 0 ? data : undefined;
      },
      30_000,
      'exemplars in Prometheus',
    );
    const ids = [...new Set(series.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? '')))];
    console.log(`# exemplars: ${ids.length} trace ids on ${series.length} bucket series`);
    assert.ok(ids.length > 0);
    for (const id of ids) {
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.ok(traceIds.has(id), `exemplar trace id ${id} is one of the requests' x-trace-id`);
    }
    const spans = await waitForSpans(
      collector.filePath,
      (all) => ids.every((id) => all.some((s) => s.traceId === id && s.parentSpanId === '')),
      `the server spans of exemplar traces ${ids.join(', ')}`,
    );
    for (const id of ids) {
      const server = spans.find((s) => s.traceId === id && s.parentSpanId === '');
      assert.equal(server?.attributes['http.route'], ROUTES.reco, `trace ${id} is a /reco request`);
    }
  });

  it('fault traffic turns the 5xx alert pending, then firing', async () => {
    const alerts = async (): Promise<Alert[]> =>
      (await prometheus.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts.filter((a) => a.labels.alertname === 'RecoscopeHigh5xxRatio');
    // 1 server error in 29 requests so far: 3.4 %, under the 5 % threshold.
    assert.deepEqual(await alerts(), [], 'quiet before the fault traffic');
    const startedAt = Date.now();
    for (let k = 2; k <= 21; k++) {
      assert.equal((await rawRequest(service.url, `/reco/knn/${666 * k}`, { headers: AUTH })).status, 500);
    }
    const seen: Partial<Record<Alert['state'], number>> = {};
    await waitFor(
      async () => {
        for (const a of await alerts()) seen[a.state] ??= Date.now() - startedAt;
        return seen.firing !== undefined;
      },
      60_000,
      'RecoscopeHigh5xxRatio firing',
      250,
    );
    console.log(`# RecoscopeHigh5xxRatio: pending after ${seen.pending} ms, firing after ${seen.firing} ms (for: 5s, evaluation 1s)`);
    assert.ok(seen.pending !== undefined, 'the alert was seen pending before it fired');
    assert.ok(seen.pending < seen.firing!);
    const [firing] = await alerts();
    assert.equal(firing?.labels.severity, 'page');
    assert.equal(firing?.labels.job, 'recoscope');
  });
});
