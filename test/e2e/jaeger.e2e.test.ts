/**
 * Jaeger end to end, on real parts: the compiled service → a real collector
 * (otel-collector/config.local.yaml, otlp_grpc/jaeger exporter) → a real Jaeger v2 built from
 * the Go module proxy (stack/jaeger.sh), while a real Filebeat ships the access log to a real
 * Elasticsearch. A traced request's trace is read back from Jaeger's query API with the span
 * tree docs/traces.md describes; the trace.id of its access-log document in Elasticsearch
 * resolves in Jaeger; the Kibana data view's trace.id link has the URL format used here.
 *
 * No timing is asserted: waits are bounded only so a broken run ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@elastic/elasticsearch';
import { LOGS_INDEX } from '../../elk/client';
import { DEFAULT_JAEGER_UI_URL, fieldFormats } from '../../elk/kibana/content';
import { kibanaSavedObjects } from '../../elk/kibana/objects';
import type { LogDocument } from '../../elk/log-search';
import { ACCESS_DATASET, ROUTES } from '../../src/contracts';
import { rawRequest, type RawResponse } from '../helpers/http';
import { field, type RunningService } from '../helpers/service';
import {
  collectorOtlpUrl,
  events,
  fetchJaegerTrace,
  isError,
  jaegerTraceApiUrl,
  requestTree,
  tag,
  upTracePipeline,
  waitForJaegerTrace,
  type JaegerTrace,
} from './jaeger-helpers';
import { createStack, orphans, removeStack, stackDown, stackVersions, startService, waitFor, type Component, type TestStack } from './stack';

const API_KEY = 'e2e-jaeger-key-7d41c2a9';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const COMPONENTS: Component[] = ['es', 'jaeger', 'otelcol', 'filebeat'];

function traceIdOf(res: RawResponse): string {
  const id = res.headers['x-trace-id'];
  assert.match(String(id), /^[0-9a-f]{32}$/, 'x-trace-id response header');
  return String(id);
}

describe('jaeger: service → collector → Jaeger, and from a log line to its trace', { timeout: 60 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let service: RunningService | undefined;
  let jaeger: string;
  const responses = new Map<string, RawResponse>();
  const traces = new Map<string, JaegerTrace>();
  const requests = { knn: '/reco/knn/1', popular: '/reco/popular/2', fault: '/reco/knn/666' };
  // knn: load_history, score, filter_seen (+ fill_popular when needed); popular: 3; fault: 1.
  const minStages = { knn: 3, popular: 3, fault: 1 };

  before(async () => {
    stack = await createStack('jaeger');
    ({ es, jaeger } = await upTracePipeline(stack));
    // Printed as TAP diagnostics by the test runner: the acceptance asks for the Jaeger version.
    console.log(`stack versions:\n${await stackVersions(COMPONENTS, stack.env)}`);
    service = await startService(stack, {
      env: {
        API_KEY,
        FAULT_USER_DIVISOR: '666',
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorOtlpUrl(stack.env),
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SERVICE_ENVIRONMENT: 'e2e',
      },
    });
    for (const [name, path] of Object.entries(requests)) responses.set(name, await rawRequest(service.url, path, { headers: AUTH }));
    for (const [name, res] of responses) {
      const stages = minStages[name as keyof typeof minStages];
      traces.set(name, await waitForJaegerTrace(jaeger, traceIdOf(res), 2 + stages));
    }
  });

  after(async () => {
    await service?.stop();
    await es?.close();
    if (stack !== undefined) {
      await stackDown(COMPONENTS, stack.env);
      assert.deepEqual(orphans(stack), [], 'no process of the test stack survives stack down');
      removeStack(stack);
    }
  });

  it('Jaeger runs the version stack/jaeger.sh built, and serves its query API', async () => {
    const versions = await stackVersions(['jaeger'], stack.env);
    assert.match(versions, /^jaeger v2\.\d+\.\d+ \(built from github\.com\/jaegertracing\/jaeger@v1\.\d+\.\d+\)$/);
    const services = (await (await fetch(`${jaeger}/api/services`)).json()) as { data: string[] };
    assert.ok(services.data.includes('recoscope'), `services known to Jaeger: ${services.data.join(', ')}`);
    assert.equal(responses.get('knn')?.status, 200);
    assert.equal(responses.get('fault')?.status, 500);
  });

  it('a traced request comes back from /api/traces/{id} with the span tree of docs/traces.md', () => {
    const knn = traces.get('knn')!;
    const tree = requestTree(knn, ROUTES.reco);
    assert.equal(knn.processes[tree.server.processID]?.serviceName, 'recoscope');
    assert.equal(tag(tree.server, 'http.route'), ROUTES.reco);
    assert.equal(tag(tree.server, 'reco.model'), 'knn');
    assert.equal(tag(tree.server, 'reco.user_id'), 1);
    // Our own middleware makes the server and route spans (no http/Express instrumentation).
    assert.equal(tag(tree.server, 'otel.scope.name'), 'recoscope');
    assert.equal(tag(tree.route, 'otel.scope.name'), 'recoscope');
    assert.equal(tag(tree.route, 'express.type'), 'request_handler');
    for (const name of ['reco.load_history', 'reco.score', 'reco.filter_seen']) assert.ok(tree.stages.has(name), `${name} in ${[...tree.stages.keys()].join(', ')}`);
    assert.ok(Number(tag(tree.stages.get('reco.score')!, 'reco.candidates')) > 0);
    for (const span of knn.spans) assert.equal(isError(span), false, `${span.operationName} is not an error`);

    const popular = requestTree(traces.get('popular')!, ROUTES.reco);
    assert.deepEqual([...popular.stages.keys()].sort(), ['reco.filter_seen', 'reco.load_history', 'reco.score']);
  });

  it('the injected fault: the model stage failed with the exception, the server span carries the error group', () => {
    const tree = requestTree(traces.get('fault')!, ROUTES.reco);
    assert.deepEqual([...tree.stages.keys()], ['reco.load_history'], 'nothing runs after the failing stage');
    const stage = tree.stages.get('reco.load_history')!;
    assert.ok(isError(stage), 'the stage span is an error');
    const exception = events(stage).find((e) => e.name === 'exception');
    assert.ok(exception, 'exception event on the stage span');
    assert.equal(exception.fields['exception.type'], 'InjectedFaultError');
    assert.match(String(exception.fields['exception.stacktrace']), /fault-injection/);
    assert.ok(isError(tree.server));
    const groupKey = '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)';
    assert.equal(tag(tree.server, 'error.grouping_key'), groupKey);
    const serverException = events(tree.server).find((e) => e.name === 'exception');
    assert.equal(serverException?.fields['error.grouping_key'], groupKey, 'the span event carries the same key as the log');
  });

  it('the trace.id of each access-log document in Elasticsearch resolves in Jaeger', async () => {
    for (const [name, res] of responses) {
      const traceId = traceIdOf(res);
      const doc = await waitFor(
        async () => {
          await es.indices.refresh({ index: LOGS_INDEX });
          const found = await es.search<LogDocument>({
            index: LOGS_INDEX,
            query: { bool: { filter: [{ term: { 'event.dataset': ACCESS_DATASET } }, { term: { 'trace.id': traceId } }] } },
          });
          return found.hits.hits[0]?._source;
        },
        120_000,
        `the access document of ${name} in Elasticsearch`,
      );
      const fromLog = String(field(doc, 'trace.id'));
      assert.equal(fromLog, traceId);
      const trace = await fetchJaegerTrace(jaeger, fromLog);
      assert.ok(trace, `${name}: Jaeger has trace ${fromLog}`);
      const server = requestTree(trace, ROUTES.reco).server;
      assert.equal(field(doc, 'span.id'), server.spanID, `${name}: the document's span.id is the trace's server span`);
      if (name === 'fault') assert.equal(field(doc, 'error.grouping_key'), tag(server, 'error.grouping_key'), 'log and trace name the same error group');
    }
  });

  it("the Kibana data view's trace.id link is Jaeger's trace URL for the id the API just answered", async () => {
    const traceId = traceIdOf(responses.get('knn')!);
    // What the committed saved objects link to (JAEGER_UI_URL unset): Jaeger's UI route /trace/{id}.
    const dataView = kibanaSavedObjects().find((o) => o.type === 'index-pattern');
    const formats = JSON.parse(String(dataView?.attributes.fieldFormatMap)) as Record<string, { params: { urlTemplate: string } }>;
    assert.equal(formats['trace.id']?.params.urlTemplate, `${DEFAULT_JAEGER_UI_URL}/trace/{{value}}`);
    // The same template rendered for this Jaeger (as elk:setup does with JAEGER_UI_URL set).
    const template = fieldFormats(jaeger)['trace.id']!.params.urlTemplate as string;
    const link = new URL(template.replace('{{value}}', traceId));
    const api = new URL(jaegerTraceApiUrl(jaeger, traceId));
    assert.equal(link.origin, api.origin, 'the link points at the Jaeger the API test used');
    assert.equal(link.pathname, `/trace/${traceId}`);
    assert.equal(api.pathname, `/api/traces/${traceId}`, "the UI's /trace/{id} page loads /api/traces/{id}");
    // Jaeger serves its UI page for the link (the placeholder page when built without UI assets).
    const page = await fetch(link);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  });
});
