/**
 * The incident walk an on-call engineer makes, as a test, on real parts: the compiled service
 * with FAULT_USER_DIVISOR=666 under a mixed load, a real Prometheus scraping it (alert rules
 * as shipped), Filebeat → Elasticsearch for the logs, collector → Jaeger for the traces.
 *
 *   1. the 5xx alert fires in Prometheus (RecoscopeHigh5xxRatio; its expression byte for byte,
 *      only its `for:` shortened from 2m to 5s so the test does not idle two minutes);
 *   2. `npm run errors` (the compiled CLI, as a user runs it) shows ONE group for the fault,
 *      with the exact number of failed requests and users;
 *   3. that group's sample trace id resolves in Jaeger to a trace whose failing span is the
 *      model's stage, with the exception recorded (and the same error group on the span);
 *   4. the exemplars on the latency histogram point to traces that exist in Jaeger, with the
 *      route and status of the bucket series they sit on.
 *
 * The steps print what a person would see (docs/incident-walk.md shows the same).
 * No timing is asserted: waits are bounded only so a broken run ends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import { LOGS_INDEX } from '../../elk/client';
import type { ErrorGroup } from '../../elk/error-groups';
import { ACCESS_DATASET, ROUTES } from '../../src/contracts';
import { compiled, PROJECT_ROOT } from '../../src/paths';
import { rawRequest } from '../helpers/http';
import type { RunningService } from '../helpers/service';
import {
  collectorOtlpUrl,
  events,
  isError,
  requestTree,
  tag,
  upTracePipeline,
  waitForJaegerTrace,
} from './jaeger-helpers';
import { rulesWithShortFor, startPrometheus, type TestPrometheus } from './prometheus-helpers';
import { createStack, freePort, orphans, removeStack, sleep, stackDown, stackVersions, startService, waitFor, type Component, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const API_KEY = 'e2e-incident-key-0b9e55';
const COMPONENTS: Component[] = ['es', 'jaeger', 'otelcol', 'filebeat'];
const FAULT_KEY = '500 InjectedFaultError at <anonymous> (src/models/fault-injection.ts)';
const ALERT = 'RecoscopeHigh5xxRatio';

interface Call {
  path: string;
  status: number;
  auth: boolean;
}

/**
 * The mixed load: 4 models over users 1..80, every 8th request a user that is a multiple of
 * 666 (the fault), plus a few unknown models and a missing token: ~11 % of /reco answers are
 * 5xx, above the alert's 5 % threshold. `warmup` goes first, alone (see before()).
 */
function mixedLoad(): { warmup: Call[]; calls: Call[]; faultUsers: number[] } {
  const models = ['popular', 'knn', 'knn_cosine', 'knn_tfidf'];
  const warmup: Call[] = [
    { path: '/reco/popular/100', status: 200, auth: true },
    { path: '/reco/knn/666', status: 500, auth: true },
  ];
  const calls: Call[] = [];
  const faultUsers: number[] = [666];
  for (let i = 1; i <= 80; i++) {
    calls.push({ path: `/reco/${models[i % models.length]}/${i}`, status: 200, auth: true });
    if (i % 8 === 0) {
      const user = 666 * (faultUsers.length + 1);
      faultUsers.push(user);
      calls.push({ path: `/reco/${models[i % models.length]}/${user}`, status: 500, auth: true });
    }
    if (i % 40 === 0) calls.push({ path: `/reco/no_such_model_${i}/${i}`, status: 404, auth: true });
  }
  calls.push({ path: '/reco/knn/1', status: 401, auth: false });
  return { warmup, calls: [...warmup, ...calls], faultUsers };
}

describe('incident walk: alert → error group → log → trace (and the exemplar)', { timeout: 60 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let service: RunningService | undefined;
  let prometheus: TestPrometheus | undefined;
  let jaeger: string;
  const { warmup, calls, faultUsers } = mixedLoad();
  const traceIdByPath = new Map<string, string>();
  let faultGroup: ErrorGroup | undefined;

  before(async () => {
    stack = await createStack('incident');
    ({ es, jaeger } = await upTracePipeline(stack));
    const metricsPort = await freePort();
    service = await startService(stack, {
      env: {
        API_KEY,
        FAULT_USER_DIVISOR: '666',
        METRICS_PORT: String(metricsPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorOtlpUrl(stack.env),
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SERVICE_ENVIRONMENT: 'e2e',
      },
    });
    prometheus = await startPrometheus({
      label: 'incident',
      targets: [`127.0.0.1:${metricsPort}`],
      rulesDir: rulesWithShortFor({ [ALERT]: '5s' }),
    });
    console.log(`stack versions:\n${await stackVersions(COMPONENTS, stack.env)}\n${prometheus.version}`);
    const send = async (call: Call): Promise<void> => {
      const res = await rawRequest(service!.url, call.path, { headers: call.auth ? { Authorization: `Bearer ${API_KEY}` } : {} });
      assert.equal(res.status, call.status, `${call.path}: ${res.body}`);
      traceIdByPath.set(call.path, String(res.headers['x-trace-id']));
    };
    // A counter series is born with its first request: Prometheus cannot see the increase
    // that created it (rate() starts from its first sample). So one 200 and one 500 first,
    // scraped, and only then the load, spread over several scrapes.
    for (const call of warmup) await send(call);
    await waitFor(
      async () => (await prometheus!.query('http_server_request_duration_seconds_count{job="recoscope", status_code=~"200|500"}')).length === 2,
      60_000,
      'a scrape with the warm-up 200 and 500',
    );
    const load = calls.slice(warmup.length);
    // Four clients at a time, like a small load generator, with a pause between rounds.
    for (let i = 0; i < load.length; i += 4) {
      await Promise.all(load.slice(i, i + 4).map(send));
      await sleep(100);
    }
  });

  after(async () => {
    await service?.stop();
    await prometheus?.stop();
    await es?.close();
    if (stack !== undefined) {
      await stackDown(COMPONENTS, stack.env);
      assert.deepEqual(orphans(stack), [], 'no process of the test stack survives stack down');
      if (prometheus !== undefined) assert.deepEqual(orphans({ runDir: prometheus.runDir } as TestStack), []);
      removeStack(stack);
    }
  });

  it('1. the 5xx alert fires in Prometheus', async () => {
    type Alert = { labels: Record<string, string>; state: string; value: string };
    const firing = await waitFor(
      async () => {
        const { alerts } = await prometheus!.api<{ alerts: Alert[] }>('/api/v1/alerts');
        return alerts.find((a) => a.labels.alertname === ALERT && a.state === 'firing');
      },
      120_000,
      `${ALERT} firing`,
      500,
    );
    console.log(`# alert: ${firing.labels.alertname} ${firing.state} severity=${firing.labels.severity} value=${Number(firing.value).toFixed(3)}`);
    assert.equal(firing.labels.severity, 'page');
    assert.ok(Number(firing.value) > 0.05, `5xx ratio ${firing.value}`);
  });

  it('2. npm run errors shows one group for the fault, with the right count and users', async () => {
    const expected = calls.length;
    await waitFor(
      async () => {
        await es.indices.refresh({ index: LOGS_INDEX });
        const { count } = await es.count({ index: LOGS_INDEX, query: { term: { 'event.dataset': ACCESS_DATASET } } });
        return count >= expected;
      },
      120_000,
      `${expected} access lines in Elasticsearch`,
    );
    const cli = async (args: string[]) =>
      execFileAsync(process.execPath, [compiled('elk/errors-cli'), ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ELASTICSEARCH_URL: stack.esUrl },
      });
    const table = await cli(['--since', '1h']);
    console.log(`$ npm run errors -- --since 1h\n${table.stdout}${table.stderr}`);
    const { stdout } = await cli(['--since', '1h', '--json']);
    const groups = stdout.trim().split('\n').map((line) => JSON.parse(line) as ErrorGroup);
    const serverGroups = groups.filter((g) => g.level === 'error');
    assert.equal(serverGroups.length, 1, `one 5xx group: ${serverGroups.map((g) => g.key).join(' | ')}`);
    faultGroup = serverGroups[0]!;
    assert.equal(faultGroup.key, FAULT_KEY);
    assert.equal(faultGroup.count, faultUsers.length, 'every faulty request, no more');
    assert.equal(faultGroup.users, faultUsers.length, 'each fault came from another user');
    assert.match(faultGroup.sampleMessage ?? '', /^injected fault for user \d+ \(FAULT_USER_DIVISOR=666\)$/);
    assert.ok(Date.parse(faultGroup.firstSeen) <= Date.parse(faultGroup.lastSeen));
    // The 4xx groups are separate, one per kind.
    const byKey = Object.fromEntries(groups.map((g) => [g.key, g.count]));
    assert.equal(byKey[`404 model_not_found ${ROUTES.reco}`], calls.filter((c) => c.status === 404).length);
    assert.equal(byKey[`401 unauthorized ${ROUTES.reco}`], 1);
    assert.equal(groups.length, 3);
  });

  it("3. the group's sample trace resolves in Jaeger: the model stage failed, with the exception", async () => {
    assert.ok(faultGroup?.sampleTraceId, 'step 2 found the group and its sample trace id');
    const traceId = faultGroup.sampleTraceId;
    assert.ok([...faultUsers].some((u) => [...traceIdByPath].some(([p, id]) => p.endsWith(`/${u}`) && id === traceId)), 'the sample is one of the faulty requests');
    const trace = await waitForJaegerTrace(jaeger, traceId, 3);
    const tree = requestTree(trace, ROUTES.reco);
    // The error propagates up (stage → Express route handler → server span); where it
    // started is the failing span without failing children.
    const failing = trace.spans.filter(isError);
    const origin = failing.filter((s) => !failing.some((child) => child.references.some((r) => r.spanID === s.spanID)));
    assert.deepEqual(origin.map((s) => s.operationName), ['reco.load_history'], 'the failure started in the model stage');
    assert.deepEqual(failing.map((s) => s.operationName).sort(), ['GET /reco/:model_name/:user_id', 'reco.load_history', 'request handler - /reco/:model_name/:user_id']);
    const exception = events(origin[0]!).find((e) => e.name === 'exception');
    assert.ok(exception, 'the exception is recorded on the stage');
    assert.equal(exception.fields['exception.type'], 'InjectedFaultError');
    assert.equal(exception.fields['exception.message'], faultGroup.sampleMessage);
    assert.equal(tag(tree.server, 'error.grouping_key'), faultGroup.key, 'the trace names the same error group');
    assert.equal(tag(tree.server, 'http.response.status_code'), 500);
    console.log(`# jaeger ${jaeger}/api/traces/${traceId}: ${trace.spans.map((s) => `${s.operationName}${isError(s) ? ' [ERROR]' : ''}`).join(' > ')}`);
  });

  it('4. the exemplars on the latency histogram point to traces that exist in Jaeger', async () => {
    type Series = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] };
    const end = Date.now() / 1000 + 60;
    const query = `http_server_request_duration_seconds_bucket{job="recoscope", route="${ROUTES.reco}"}`;
    const series = await waitFor(
      async () => {
        const data = await prometheus!.api<Series[]>(`/api/v1/query_exemplars?query=${encodeURIComponent(query)}&start=${end - 3600}&end=${end}`);
        return data.some((s) => s.seriesLabels.status_code === '500') ? data : undefined;
      },
      60_000,
      'exemplars on the 5xx and 2xx latency buckets',
    );
    let checked = 0;
    for (const s of series) {
      for (const exemplar of s.exemplars) {
        const traceId = exemplar.labels.trace_id;
        assert.match(String(traceId), /^[0-9a-f]{32}$/);
        // A 401 has no stage spans: server + route span only.
        const tree = requestTree(await waitForJaegerTrace(jaeger, traceId!, 2), ROUTES.reco);
        assert.equal(String(tag(tree.server, 'http.response.status_code')), s.seriesLabels.status_code, `exemplar ${traceId} on a ${s.seriesLabels.status_code} bucket`);
        assert.ok(Number(exemplar.value) <= Number(s.seriesLabels.le === '+Inf' ? Infinity : s.seriesLabels.le), 'the exemplar lies within its bucket');
        checked++;
      }
    }
    const fault = series.find((s) => s.seriesLabels.status_code === '500')!.exemplars[0]!;
    console.log(`# exemplars: ${checked} checked in Jaeger; on a 500 bucket: trace_id=${fault.labels.trace_id} (${(Number(fault.value) * 1000).toFixed(2)} ms)`);
    assert.ok(checked > 1);
  });
});
