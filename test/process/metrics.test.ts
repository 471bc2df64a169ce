/**
 * The metrics listener of the real compiled service (METRICS_PORT): what it exposes, both
 * exposition formats, exact counts for a known mix of requests, trace_id exemplars, and
 * bounded cardinality under 1 000 random model names and paths.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { accessRecords, field, readLogFile, startService, type RunningService } from '../helpers/service';
import { freePort } from '../../loadtest/child-server';
import { parseExposition, sampleSum, sampleValue, seriesOf, type Sample } from '../helpers/metrics';
import { waitUntil } from '../helpers/wait';

const API_KEY = 'metrics-test-key-8d41c2';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const RECO = '/reco/:model_name/:user_id';
const OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('metrics listener', () => {
  let service: RunningService;
  let metricsUrl: string;

  const scrape = async (accept?: string) => {
    const res = await rawRequest(metricsUrl, '/metrics', accept === undefined ? {} : { headers: { Accept: accept } });
    assert.equal(res.status, 200, res.body);
    return res;
  };
  const samples = async (): Promise<Sample[]> => parseExposition((await scrape()).body);

  before(async () => {
    const metricsPort = await freePort();
    const closedCollector = await freePort();
    service = await startService({
      env: {
        API_KEY,
        FAULT_USER_DIVISOR: '666',
        METRICS_PORT: String(metricsPort),
        // Tracing on (the exporter fails quietly against a closed port): requests get trace ids.
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedCollector}`,
      },
    });
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
  });

  after(async () => {
    await service?.stop();
  });

  it('logs where it listens and serves every family in the text format by default, no API key needed', async () => {
    const line = service.stdoutRecords.find((r) => field(r, 'event.action') === 'metrics-listening');
    assert.equal(field(line ?? {}, 'recoscope.url'), `${metricsUrl}/metrics`);
    await rawRequest(service.url, '/reco/knn/1', { headers: AUTH });
    const res = await scrape();
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const types = new Map([...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const expected: Record<string, string> = {
      http_server_request_duration_seconds: 'histogram',
      http_server_active_requests: 'gauge',
      recoscope_recommendations_total: 'counter',
      recoscope_fallback_items_total: 'counter',
      recoscope_feedback_events_total: 'counter',
      recoscope_model_call_duration_seconds: 'histogram',
      recoscope_model_info: 'gauge',
      recoscope_model_load_duration_seconds: 'gauge',
      recoscope_dataset_load_duration_seconds: 'gauge',
      recoscope_telemetry_dropped_total: 'counter',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_p99_seconds: 'gauge',
      nodejs_gc_duration_seconds: 'histogram',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(types.get(name), type, `# TYPE ${name}`);
    const info = seriesOf(parseExposition(res.body), 'recoscope_model_info');
    assert.deepEqual(info.map((s) => s.labels.model).sort(), ['knn', 'knn_cosine', 'knn_tfidf', 'popular']);
    for (const s of info) {
      assert.equal(s.value, 1);
      assert.match(s.labels.dataset_fingerprint ?? '', /^[0-9a-f]{16,}$/);
      // Trained at start-up and saved: a registry version (creation time, dataset fingerprint).
      assert.match(s.labels.version ?? '', /^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}$/);
      assert.equal(s.labels.version?.slice(-8), s.labels.dataset_fingerprint?.slice(0, 8));
    }
  });

  it('serves OpenMetrics to a client that asks for it (Prometheus), text again afterwards', async () => {
    const om = await scrape(OPENMETRICS_ACCEPT);
    assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(om.body.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
    assert.match(om.body, /^# TYPE recoscope_recommendations counter$/m, 'OpenMetrics counter family without _total');
    assert.match(om.body, /^recoscope_recommendations_total\{/m, 'its samples with _total');
    // prom-client renames counters in place for OpenMetrics; the text format must not suffer.
    const text = await scrape('text/plain');
    assert.match(text.body, /^# TYPE recoscope_recommendations_total counter$/m);
    assert.match(text.body, /^process_cpu_seconds_total /m);
    assert.doesNotMatch(text.body, /# EOF/);
    assert.doesNotMatch(text.body, /trace_id=/, 'no exemplars in the text format');
  });

  it('counts a known mix of requests exactly, by route template, status, model and outcome', async () => {
    const before = await samples();
    const mix: [string, Record<string, string>][] = [
      ['/reco/popular/1', AUTH],
      ['/reco/popular/2', AUTH],
      ['/reco/popular/3', AUTH],
      ['/reco/knn/999999991', AUTH], // cold start
      ['/reco/knn/999999992', AUTH], // cold start
      ['/reco/knn/666', AUTH], // injected 500
      ['/reco/no_such_model/1', AUTH], // 404 model_not_found
      ['/reco/knn/1', {}], // 401 unauthorized
      ['/health', {}],
      ['/no/such/path', {}],
    ];
    const statuses = [];
    for (const [path, headers] of mix) statuses.push((await rawRequest(service.url, path, { headers })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 500, 404, 401, 200, 404]);
    const now = await samples();
    const delta = (name: string, labels: Record<string, string>) => sampleSum(now, name, labels) - sampleSum(before, name, labels);
    const count = 'http_server_request_duration_seconds_count';
    assert.equal(delta(count, { method: 'GET', route: RECO, status_code: '200' }), 5);
    assert.equal(delta(count, { method: 'GET', route: RECO, status_code: '500' }), 1);
    assert.equal(delta(count, { method: 'GET', route: RECO, status_code: '404' }), 1);
    assert.equal(delta(count, { method: 'GET', route: RECO, status_code: '401' }), 1);
    assert.equal(delta(count, { method: 'GET', route: '/health', status_code: '200' }), 1);
    assert.equal(delta(count, { method: 'GET', route: 'unmatched', status_code: '404' }), 1);
    const reco = 'recoscope_recommendations_total';
    assert.equal(delta(reco, { model: 'popular', outcome: 'ok' }), 3);
    assert.equal(delta(reco, { model: 'knn', outcome: 'cold_start' }), 2);
    assert.equal(delta(reco, { model: 'knn', outcome: 'server_error' }), 1);
    assert.equal(delta(reco, { model: 'unknown', outcome: 'model_not_found' }), 1);
    assert.equal(delta(reco, { model: 'knn', outcome: 'unauthorized' }), 1);
    // The model was called for the 3 popular and 2 cold-start requests (the injected fault
    // throws before the model is called).
    assert.equal(delta('recoscope_model_call_duration_seconds_count', { model: 'popular' }), 3);
    assert.equal(delta('recoscope_model_call_duration_seconds_count', { model: 'knn' }), 2);
    assert.equal(sampleValue(now, 'http_server_active_requests', {}), 0);
    // No raw path anywhere in a label.
    for (const s of now) assert.ok(!Object.values(s.labels).some((v) => v.includes('/no/such')), JSON.stringify(s));
  });

  it('latency observations carry the request trace_id as an OpenMetrics exemplar', async () => {
    const res = await rawRequest(service.url, '/reco/knn/5', { headers: AUTH });
    assert.equal(res.status, 200);
    const traceId = res.headers['x-trace-id'];
    assert.match(String(traceId), /^[0-9a-f]{32}$/);
    const om = (await scrape(OPENMETRICS_ACCEPT)).body;
    const withExemplar = om.split('\n').filter((l) => l.includes(`# {trace_id="${String(traceId)}"}`));
    assert.ok(
      withExemplar.some((l) => l.startsWith('http_server_request_duration_seconds_bucket{') && l.includes(`route="${RECO}"`)),
      'an HTTP duration bucket has the exemplar',
    );
    assert.ok(
      withExemplar.some((l) => l.startsWith('recoscope_model_call_duration_seconds_bucket{') && l.includes('model="knn"')),
      'a model call bucket has the exemplar',
    );
  });

  it('1 000 random model names and paths add no series', async (t) => {
    // Every label combination the random requests can produce, once, before counting.
    const seed = [
      ['GET', '/reco/zz_unknown/1'], // model_not_found, model="unknown"
      ['GET', '/reco/zz_unknown/abc'], // validation_error, model="unknown"
      ['GET', '/zz/unknown/path'], // unmatched 404
      ['POST', '/reco/zz_unknown/1'], // 405 on the reco route
      ['POST', '/zz/unknown/path'], // unmatched 404, POST
    ];
    for (const [method, path] of seed) await rawRequest(service.url, path!, { method: method!, headers: AUTH });
    const ours = (all: Sample[]) => all.filter((s) => s.name.startsWith('http_') || s.name.startsWith('recoscope_'));
    const seriesBefore = ours(await samples()).length;
    const sent: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const word = randomBytes(6).toString('hex');
      sent.push(word);
      const path = [`/reco/${word}/${i}`, `/reco/${word}/x${i}`, `/${word}/${i}`, `/${word}`][i % 4]!;
      await rawRequest(service.url, path, { method: i % 10 === 9 ? 'POST' : 'GET', headers: AUTH });
    }
    const after = await samples();
    const seriesAfter = ours(after).length;
    t.diagnostic(`recoscope_* and http_* series: ${seriesBefore} before, ${seriesAfter} after 1000 random requests`);
    assert.equal(seriesAfter, seriesBefore);
    const text = (await scrape()).body;
    for (const word of sent) assert.ok(!text.includes(word), `${word} leaked into the exposition`);
    // 250 of them were GET /reco/<random>/<n>: all counted, under model="unknown".
    assert.ok(sampleSum(after, 'recoscope_recommendations_total', { model: 'unknown', outcome: 'model_not_found' }) >= 251);
  });

  it('answers only /metrics, and scrapes are not requests of the service', async () => {
    const logged = accessRecords(readLogFile(service.logFile)).length;
    assert.equal((await rawRequest(metricsUrl, '/reco/knn/1')).status, 404);
    assert.equal((await rawRequest(metricsUrl, '/metrics', { method: 'POST' })).status, 405);
    await scrape();
    // A request to the service itself as a barrier: lines reach the file in order, so once its
    // access line is there any line for the scrapes above would be too.
    await rawRequest(service.url, '/health', { headers: { 'User-Agent': 'metrics-barrier' } });
    const lines = await waitUntil(() => {
      const records = accessRecords(readLogFile(service.logFile));
      return records.some((r) => field(r, 'user_agent.original') === 'metrics-barrier') && records;
    }, 'the barrier request\'s access line');
    assert.equal(lines.length, logged + 1, 'no access line for the metrics listener, one for the barrier request');
  });
});

describe('exemplars of unsampled traces', () => {
  it('are not written: an exemplar always leads to an exported trace', async () => {
    const metricsPort = await freePort();
    const service = await startService({
      env: {
        API_KEY,
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
        OTEL_TRACES_SAMPLER: 'always_off',
      },
    });
    try {
      for (const p of ['/reco/knn/1', '/reco/popular/2']) assert.equal((await rawRequest(service.url, p, { headers: AUTH })).status, 200);
      const om = await rawRequest(`http://127.0.0.1:${metricsPort}`, '/metrics', { headers: { Accept: OPENMETRICS_ACCEPT } });
      assert.match(om.body, /^http_server_request_duration_seconds_count\{[^}]*route="\/reco\/:model_name\/:user_id"[^}]*\} 2$/m);
      assert.doesNotMatch(om.body, /trace_id=/);
    } finally {
      await service.stop();
    }
  });
});

describe('METRICS_PORT=0', () => {
  it('starts no metrics listener', async () => {
    const service = await startService({ env: { API_KEY, METRICS_PORT: '0' } });
    try {
      assert.equal(
        service.stdoutRecords.some((r) => field(r, 'event.action') === 'metrics-listening'),
        false,
      );
      assert.equal((await rawRequest(service.url, '/reco/popular/1', { headers: AUTH })).status, 200);
    } finally {
      await service.stop();
    }
  });
});
