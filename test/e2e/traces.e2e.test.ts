/**
 * Traces end to end: the compiled service (dist/src/main.js) exports to a real
 * OpenTelemetry Collector built here (stack/stack.sh), which writes OTLP JSON lines that
 * these tests read back, while a real Filebeat ships its log file to Elasticsearch. Checked
 * per request: the span tree and its parent links, the attributes, errors, the response's
 * x-trace-id / traceparent, the access log's trace.id (in the NDJSON file and in
 * Elasticsearch), and that the API key is in no span. Then: SIGTERM flushes the last spans; a collector that is
 * down costs neither requests nor a flood of warnings.
 *
 * No timing is asserted: waits on the collector's file are bounded only so a broken run ends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rawRequest, type RawResponse } from '../helpers/http';
import { sleep, waitUntil } from '../helpers/wait';
import { accessRecords, field, readLogFile, startService, type LogRecord, type RunningService } from '../helpers/service';
import { freePort } from './stack';
import {
  readSpans,
  spanStrings,
  startCollector,
  startLogShipping,
  waitForSpans,
  type FlatSpan,
  type LogShipping,
  type TestCollector,
} from './trace-helpers';

const API_KEY = 'e2e-traces-key-3b7f0c91d2';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const ROUTE = '/reco/:model_name/:user_id';
const SERVER_SPAN_NAME = `GET ${ROUTE}`;
const ROUTE_SPAN_NAME = `request handler - ${ROUTE}`;
const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;
// Large next to the synthetic catalogue (300 items), so knn cannot fill K from neighbours
// alone and `reco.fill_popular` runs.
const K = 280;

function traceIdOf(res: RawResponse): string {
  const id = res.headers['x-trace-id'];
  assert.equal(typeof id, 'string', 'x-trace-id response header');
  assert.match(id as string, /^[0-9a-f]{32}$/);
  return id as string;
}

interface RequestTree {
  server: FlatSpan;
  route: FlatSpan;
  stages: Map<string, FlatSpan>;
  all: FlatSpan[];
}

function treeOf(spans: FlatSpan[], traceId: string): RequestTree {
  const all = spans.filter((s) => s.traceId === traceId);
  const roots = all.filter((s) => s.parentSpanId === '');
  assert.equal(roots.length, 1, `one root span in trace ${traceId}, got ${roots.map((s) => s.name).join(', ')}`);
  const server = roots[0]!;
  assert.equal(server.kind, SPAN_KIND_SERVER, 'the root is the http server span');
  // Started by the service's own middleware (src/observability/tracing/http.ts), which
  // replaced the generic http and Express instrumentations; same tree, names and attributes.
  assert.equal(server.scope, 'recoscope');
  assert.equal(server.name, SERVER_SPAN_NAME, 'server span named after the route, not the raw path');
  assert.equal(server.attributes['http.route'], ROUTE);

  const routes = all.filter((s) => s.parentSpanId === server.spanId && s.attributes['express.type'] === 'request_handler');
  assert.equal(routes.length, 1, `one express route span under the server span, got ${routes.map((s) => s.name).join(', ')}`);
  const route = routes[0]!;
  assert.equal(route.name, ROUTE_SPAN_NAME);
  assert.equal(route.attributes['express.type'], 'request_handler');
  assert.equal(route.attributes['http.route'], ROUTE);

  const stages = new Map<string, FlatSpan>();
  for (const s of all.filter((x) => x.name.startsWith('reco.'))) {
    assert.equal(s.parentSpanId, route.spanId, `${s.name} is a child of the route span`);
    assert.equal(s.scope, 'recoscope');
    assert.ok(!stages.has(s.name), `${s.name} appears once`);
    stages.set(s.name, s);
  }
  // Nothing else: no client spans (the exporter's own requests are never traced), no strays.
  assert.equal(all.length, 2 + stages.size, `unexpected spans: ${all.map((s) => s.name).join(', ')}`);
  return { server, route, stages, all };
}

function stage(tree: RequestTree, name: string): FlatSpan {
  const s = tree.stages.get(name);
  assert.ok(s !== undefined, `stage ${name} missing; has ${[...tree.stages.keys()].join(', ')}`);
  return s;
}

function accessLineFor(records: LogRecord[], traceId: string): LogRecord {
  const lines = accessRecords(records).filter((r) => field(r, 'trace.id') === traceId);
  assert.equal(lines.length, 1, `one access log line with trace.id ${traceId}`);
  return lines[0]!;
}

describe('traces: span trees on a real collector', () => {
  let collector: TestCollector;
  let shipping: LogShipping;
  let service: RunningService;
  const responses = new Map<string, RawResponse>();
  let spans: FlatSpan[] = [];
  let logRecords: LogRecord[] = [];

  const requests: Record<string, string> = {
    popular: '/reco/popular/1',
    knn: '/reco/knn/1',
    cold: '/reco/knn/999999999',
    fault: '/reco/knn/666',
  };

  before(async () => {
    collector = await startCollector('tree');
    const logDir = mkdtempSync(join(tmpdir(), 'recoscope-traces-logs-'));
    shipping = await startLogShipping('traces', logDir);
    service = await startService({
      env: {
        LOG_DIR: logDir,
        API_KEY,
        K_RECS: String(K),
        FAULT_USER_DIVISOR: '666',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        // Export soon after each request rather than every 5 s (the default).
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SERVICE_ENVIRONMENT: 'e2e',
      },
    });
    for (const [name, path] of Object.entries(requests)) {
      responses.set(name, await rawRequest(service.url, path, { headers: AUTH }));
    }
    const traceIds = [...responses.values()].map(traceIdOf);
    spans = await waitForSpans(
      collector.filePath,
      (all) => traceIds.every((id) => all.some((s) => s.traceId === id && s.parentSpanId === '')),
      `the server spans of ${traceIds.join(', ')}`,
    );
    // The server span ends last; give its children's batch the same chance.
    spans = await waitForSpans(collector.filePath, (all) => all.length >= spans.length, 'the same spans again');
    logRecords = readLogFile(service.logFile);
  });

  after(async () => {
    await service?.stop();
    await collector?.stop();
    await shipping?.stop();
  });

  it('answers the requests as usual with tracing on', () => {
    assert.equal(responses.get('popular')?.status, 200);
    assert.equal(responses.get('knn')?.status, 200);
    assert.equal(responses.get('cold')?.status, 200);
    assert.equal(responses.get('fault')?.status, 500);
  });

  it('exports with the service resource', () => {
    const server = spans.find((s) => s.name === SERVER_SPAN_NAME);
    assert.ok(server);
    assert.equal(server.resource['service.name'], 'recoscope');
    assert.match(String(server.resource['service.version']), /^\d+\.\d+\.\d+/);
    assert.equal(server.resource['deployment.environment.name'], 'e2e');
  });

  it('popular: server → route → load_history, score, filter_seen', () => {
    const res = responses.get('popular')!;
    const tree = treeOf(spans, traceIdOf(res));
    assert.deepEqual([...tree.stages.keys()].sort(), ['reco.filter_seen', 'reco.load_history', 'reco.score']);
    assert.equal(tree.server.attributes['reco.model'], 'popular');
    assert.equal(tree.server.attributes['reco.user_id'], 1);
    assert.equal(tree.server.attributes['reco.k'], K);
    assert.equal(tree.server.attributes['http.response.status_code'], 200);
    assert.equal(typeof stage(tree, 'reco.load_history').attributes['reco.history_length'], 'number');
    assert.ok(Number(stage(tree, 'reco.load_history').attributes['reco.history_length']) > 0, 'user 1 has a history');
    assert.ok(Number(stage(tree, 'reco.score').attributes['reco.candidates']) > 0);
    for (const s of tree.all) assert.notEqual(s.status.code, STATUS_ERROR, `${s.name} not an error`);
  });

  it('knn: the score stage reports model, history, neighbours and candidates; fill_popular runs when needed', () => {
    const res = responses.get('knn')!;
    const traceId = traceIdOf(res);
    const tree = treeOf(spans, traceId);
    assert.equal(tree.server.attributes['reco.model'], 'knn');
    const score = stage(tree, 'reco.score');
    assert.equal(score.attributes['reco.model'], 'knn');
    assert.ok(Number(score.attributes['reco.history_length']) > 0);
    assert.equal(typeof score.attributes['reco.neighbours_visited'], 'number');
    assert.ok(Number(score.attributes['reco.candidates']) > 0);
    stage(tree, 'reco.load_history');
    stage(tree, 'reco.filter_seen');
    const fallback = Number(field(accessLineFor(logRecords, traceId), 'reco.fallback'));
    assert.ok(fallback > 0, `with K=${K} knn must need popular items (access log reco.fallback=${fallback})`);
    const fill = stage(tree, 'reco.fill_popular');
    assert.ok(Number(fill.attributes['reco.fallback']) > 0);
  });

  it('cold user: the load_history stage says so', () => {
    const tree = treeOf(spans, traceIdOf(responses.get('cold')!));
    const load = stage(tree, 'reco.load_history');
    assert.equal(load.attributes['reco.cold_start'], true);
    assert.equal(load.attributes['reco.history_length'], 0);
    assert.equal(tree.server.attributes['reco.user_id'], 999999999);
  });

  it('injected 500: the failing stage and the server span carry ERROR and the exception', () => {
    const tree = treeOf(spans, traceIdOf(responses.get('fault')!));
    const load = stage(tree, 'reco.load_history');
    assert.equal(load.status.code, STATUS_ERROR);
    const stageException = load.events.find((e) => e.name === 'exception');
    assert.ok(stageException, 'exception event on the failing stage');
    assert.equal(stageException.attributes['exception.type'], 'InjectedFaultError');
    assert.equal(load.attributes['error.type'], 'InjectedFaultError', 'semconv error.type on the failed stage');
    assert.match(String(stageException.attributes['exception.message']), /injected fault for user 666/);
    assert.equal(tree.stages.has('reco.score'), false, 'nothing runs after the failing stage');

    assert.equal(tree.server.status.code, STATUS_ERROR);
    assert.equal(tree.server.attributes['http.response.status_code'], 500);
    const serverException = tree.server.events.find((e) => e.name === 'exception');
    assert.ok(serverException, 'exception event on the server span (endServerSpan)');
    assert.equal(serverException.attributes['exception.type'], 'InjectedFaultError');
    assert.equal(tree.server.attributes['error.type'], 'InjectedFaultError', 'semconv error.type on the failed server span');
    assert.equal(tree.route.status.code, STATUS_ERROR, 'the route span failed too');
    for (const name of ['popular', 'knn', 'cold']) {
      const ok = treeOf(spans, traceIdOf(responses.get(name)!));
      for (const s of ok.all) assert.equal(s.attributes['error.type'], undefined, `${name}: ${s.name} has no error.type`);
    }
  });

  it('x-trace-id, traceparent and the access log line all name the request trace', () => {
    for (const [name, res] of responses) {
      const traceId = traceIdOf(res);
      const { server } = treeOf(spans, traceId);
      assert.equal(res.headers.traceparent, `00-${traceId}-${server.spanId}-01`, `${name}: traceparent`);
      const line = accessLineFor(logRecords, traceId);
      assert.equal(field(line, 'span.id'), server.spanId, `${name}: access log span.id is the server span`);
      assert.equal(field(line, 'url.path'), requests[name]);
    }
  });

  it('Elasticsearch has each request\'s access log under the same trace.id as its spans', async () => {
    for (const [name, res] of responses) {
      const traceId = traceIdOf(res);
      const { server } = treeOf(spans, traceId);
      // Bounded wait for Filebeat → Elasticsearch (+ refresh); not a timing assertion.
      const docs = await waitUntil(
        async () => {
          const found = await shipping.accessDocs(traceId);
          return found.length > 0 && found;
        },
        `${name}: its access document in Elasticsearch`,
        90_000,
        500,
      ).catch(() => []);
      assert.equal(docs.length, 1, `${name}: one access document with trace.id ${traceId} in ${shipping.index}`);
      const doc = docs[0]!;
      assert.equal(field(doc, 'trace.id'), traceId);
      assert.equal(field(doc, 'span.id'), server.spanId, `${name}: the document names the server span`);
      assert.equal(field(doc, 'url.path'), requests[name]);
      assert.equal(field(doc, 'http.response.status_code'), res.status);
    }
  });

  it('the API key appears in no span', () => {
    assert.ok(spans.length > 0);
    for (const s of spans) {
      for (const value of spanStrings(s)) {
        assert.ok(!value.includes(API_KEY), `API key found in span ${s.name}: ${value}`);
        assert.doesNotMatch(value, /bearer/i, `Authorization value in span ${s.name}: ${value}`);
      }
      assert.equal(Object.keys(s.attributes).some((k) => k.includes('authorization')), false);
    }
  });
});

describe('traces: SIGTERM flushes the last spans', () => {
  let collector: TestCollector;

  before(async () => {
    collector = await startCollector('sigterm');
  });

  after(async () => {
    await collector?.stop();
  });

  it('spans of requests answered just before SIGTERM reach the collector, and the service exits 0', async () => {
    const service = await startService({
      env: {
        API_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        // No scheduled export during the test: only the shutdown flush can deliver the spans.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
    });
    const answered = await Promise.all(
      ['/reco/popular/2', '/reco/knn/3', '/reco/knn/4', '/reco/popular/5'].map((p) => rawRequest(service.url, p, { headers: AUTH })),
    );
    for (const res of answered) assert.equal(res.status, 200);
    const traceIds = answered.map(traceIdOf);
    assert.equal(readSpans(collector.filePath).filter((s) => traceIds.includes(s.traceId)).length, 0, 'nothing exported before SIGTERM');

    const code = await service.stop('SIGTERM');
    assert.equal(code, 0, `exit code\n${service.stderr()}`);
    const spans = await waitForSpans(
      collector.filePath,
      (all) => traceIds.every((id) => all.some((s) => s.traceId === id && s.parentSpanId === '')),
      'the server spans of the last requests',
    );
    for (const id of traceIds) {
      const tree = treeOf(spans, id);
      assert.ok(tree.stages.size >= 3, 'the stage spans came with it');
    }
  });
});

describe('traces: collector down', () => {
  it('every request still succeeds and exporter failures are logged rate-limited, not per request', async () => {
    const closedPort = await freePort();
    const service = await startService({
      env: {
        API_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
        // Fail fast and often: an export attempt every 100 ms, each giving up after 500 ms.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_EXPORTER_OTLP_TIMEOUT: '500',
      },
    });
    const N = 60;
    let ok = 0;
    for (let i = 0; i < N; i++) {
      const res = await rawRequest(service.url, `/reco/${i % 2 === 0 ? 'popular' : 'knn'}/${(i % 50) + 1}`, { headers: AUTH });
      if (res.status === 200) ok++;
      // Spread the requests over several export attempts.
      await sleep(25);
    }
    assert.equal(ok, N, 'all requests answered 200');

    const code = await service.stop('SIGTERM');
    assert.equal(code, 0, `a dead collector must not break shutdown\n${service.stderr()}`);

    const records = readLogFile(service.logFile);
    const diagnostics = records.filter((r) => field(r, 'event.action') === 'otel-diagnostic');
    // Default interval 30 s: the first failure, then at most a summary or two.
    assert.ok(diagnostics.length >= 1, 'the failing exporter is reported');
    assert.ok(diagnostics.length <= 3, `rate limited: ${diagnostics.length} lines:\n${diagnostics.map((d) => String(d.message)).join('\n')}`);
    assert.match(diagnostics.map((d) => String(d.message)).join('\n'), /ECONNREFUSED|export|connect/i);
    // The lines account for more failures than they are: the limiter folded them.
    const reported = diagnostics.reduce((n, d) => n + 1 + Number(field(d, 'recoscope.otel.suppressed') ?? 0), 0);
    assert.ok(reported > diagnostics.length, `several failures folded into ${diagnostics.length} line(s), counted ${reported}`);
    assert.equal(accessRecords(records).length, N, 'one access line per request');
  });
});
