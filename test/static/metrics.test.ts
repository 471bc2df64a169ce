/**
 * The metrics configuration, checked against the real service and each other:
 *  - every metric name the Grafana dashboard and the Prometheus rules use exists in a real
 *    scrape of the compiled service (or is a recording rule defined in prometheus/rules);
 *  - every alert has a promtool unit test that fires and one that stays quiet;
 *  - compose wiring: Prometheus loads the same config/rules files as the local stack, Grafana's
 *    datasources link exemplars to Jaeger and the dashboard uses only provisioned datasources.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { rawRequest } from '../helpers/http';
import { parseExposition, sampleNames } from '../helpers/metrics';
import { startService, type RunningService } from '../helpers/service';
import { freePort } from '../../loadtest/child-server';
import { PROJECT_ROOT } from '../../src/paths';

const path = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);
const read = (...parts: string[]): string => readFileSync(path(...parts), 'utf8');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const ruleFiles = readdirSync(path('prometheus', 'rules')).filter((f) => f.endsWith('.yml'));
const rules: Rule[] = ruleFiles.flatMap(
  (f) => (parseYaml(read('prometheus', 'rules', f)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
);
const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));

interface Panel {
  title?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(read('grafana', 'dashboards', 'recoscope.json')) as { panels: Panel[] };
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const dashboardExprs = allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr])));

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or durations. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range durations ([5m], [$__rate_interval])
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\w+/g, ''); // Grafana variables
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [m[0].replace(/\s*\($/, ''), m[1]];
    if (call !== undefined || KEYWORDS.has(token.toLowerCase())) continue;
    names.push(token);
  }
  return names;
}

describe('metric names used by the dashboard and the rules', () => {
  let service: RunningService;
  let exposed: Set<string>;

  before(async () => {
    const metricsPort = await freePort();
    service = await startService({
      // K close to the catalogue size (300 items): knn needs popular items, so the fallback counter has samples.
      env: { API_KEY: 'static-metrics-key-1', FAULT_USER_DIVISOR: '666', K_RECS: '280', METRICS_PORT: String(metricsPort) },
    });
    const auth = { Authorization: 'Bearer static-metrics-key-1' };
    // One of each kind, so every labelled family has samples.
    for (const p of ['/reco/popular/1', '/reco/knn/1', '/reco/knn/999999999', '/reco/knn/666', '/reco/nope/1', '/health']) {
      await rawRequest(service.url, p, { headers: auth });
    }
    const res = await rawRequest(`http://127.0.0.1:${metricsPort}`, '/metrics');
    assert.equal(res.status, 200);
    exposed = sampleNames(parseExposition(res.body));
    // A family declared in the scrape exists even before its first sample (nodejs_gc_duration_seconds
    // has none until the first garbage collection): add its sample names.
    for (const [, name, type] of res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of suffixes) exposed.add(`${name}${suffix}`);
    }
  });

  after(async () => {
    await service?.stop();
  });

  it('the name extractor finds metric names and nothing else', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job="x", route=~"/reco.*"}[$__rate_interval]))) / ignoring(x) group_left b:c:rate5m > 2 * up'),
      ['a_bucket', 'b:c:rate5m', 'up'],
    );
  });

  it('every name in the dashboard is exposed by the service or recorded by a rule', () => {
    assert.ok(dashboardExprs.length >= 15, `the dashboard has ${dashboardExprs.length} queries`);
    const missing = new Set<string>();
    for (const expr of dashboardExprs) {
      for (const name of metricNames(expr)) {
        if (!exposed.has(name) && !recorded.has(name) && name !== 'up') missing.add(name);
      }
    }
    assert.deepEqual([...missing], [], `not in a scrape of the service: ${[...missing].join(', ')}`);
  });

  it('every name in the rules is exposed by the service or recorded by another rule', () => {
    assert.ok(rules.length >= 5);
    const missing = new Set<string>();
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        if (!exposed.has(name) && !recorded.has(name) && name !== 'up') missing.add(`${name} (${rule.alert ?? rule.record})`);
      }
    }
    assert.deepEqual([...missing], []);
  });

  it('the dashboard covers RED per route, latency per model, cold start/fallback, event-loop lag, heap and GC', () => {
    const used = new Set(dashboardExprs.flatMap(metricNames));
    for (const name of [
      'http_server_request_duration_seconds_count',
      'http_server_request_duration_seconds_bucket',
      'recoscope_model_call_duration_seconds_bucket',
      'recoscope_recommendations_total',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds_sum',
    ]) {
      assert.ok(used.has(name), `dashboard has no panel on ${name}`);
    }
    assert.ok(dashboardExprs.some((e) => /outcome="cold_start"/.test(e)) && dashboardExprs.some((e) => /outcome="fallback"/.test(e)));
  });
});

describe('alert rule tests', () => {
  type AlertTest = { alertname: string; exp_alerts?: unknown[] };
  const testFiles = readdirSync(path('prometheus', 'tests')).filter((f) => f.endsWith('.test.yml'));
  const alertTests: AlertTest[] = testFiles.flatMap((f) =>
    (parseYaml(read('prometheus', 'tests', f)) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []),
  );

  it('each alert has a promtool test where it fires and one where it stays quiet', () => {
    const alerts = rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert]));
    assert.ok(alerts.length >= 5);
    for (const alert of alerts) {
      const cases = alertTests.filter((t) => t.alertname === alert);
      assert.ok(cases.some((t) => (t.exp_alerts ?? []).length > 0), `${alert}: no firing case`);
      assert.ok(cases.some((t) => (t.exp_alerts ?? []).length === 0), `${alert}: no quiet case`);
    }
  });

  it('every rule and test file is loaded by the configs and check.sh', () => {
    const tests = testFiles.flatMap((f) => (parseYaml(read('prometheus', 'tests', f)) as { rule_files: string[] }).rule_files);
    for (const f of ruleFiles) assert.ok(tests.includes(`../rules/${f}`), `${f} has no promtool test file`);
    assert.match(read('prometheus', 'prometheus.yml'), /- \/etc\/prometheus\/rules\/\*\.yml/);
    assert.match(read('prometheus', 'prometheus.local.yml'), /- @RULES_DIR@\/\*\.yml/);
    assert.match(read('prometheus', 'check.sh'), /promtool test rules/);
    assert.match(read('.ci', 'run'), /npm run prometheus:check/);
  });
});

describe('compose: Prometheus and Grafana', () => {
  interface Service {
    volumes?: string[];
    command?: string[];
    environment?: Record<string, string>;
  }
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };

  it('Prometheus runs the repository config and rules with exemplar storage, scraping reco:METRICS_PORT', () => {
    const prometheus = compose.services.prometheus;
    assert.ok(prometheus);
    assert.ok(prometheus.volumes?.includes('./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro'));
    assert.ok(prometheus.volumes?.includes('./prometheus/rules:/etc/prometheus/rules:ro'));
    assert.ok(prometheus.command?.includes('--enable-feature=exemplar-storage'));
    assert.match(read('stack', 'prometheus.sh'), /--enable-feature=exemplar-storage/);
    const port = compose.services.reco?.environment?.METRICS_PORT;
    assert.equal(port, '9464');
    const config = parseYaml(read('prometheus', 'prometheus.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const job = config.scrape_configs.find((j) => j.job_name === 'recoscope');
    assert.deepEqual(job?.static_configs[0]?.targets, [`reco:${port}`]);
  });

  it('Grafana is provisioned: Prometheus (exemplars → Jaeger), Jaeger and Elasticsearch logs; the dashboard uses them', () => {
    const grafana = compose.services.grafana;
    assert.ok(grafana?.volumes?.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'));
    assert.ok(grafana?.volumes?.includes('./grafana/dashboards:/var/lib/grafana/dashboards:ro'));
    type Ds = { uid: string; type: string; url: string; jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[]; index?: string } };
    const ds = (parseYaml(read('grafana', 'provisioning', 'datasources', 'datasources.yml')) as { datasources: Ds[] }).datasources;
    const byUid = new Map(ds.map((d) => [d.uid, d]));
    assert.deepEqual([...byUid.keys()].sort(), ['elasticsearch', 'jaeger', 'prometheus']);
    assert.deepEqual(byUid.get('prometheus')?.jsonData?.exemplarTraceIdDestinations, [{ name: 'trace_id', datasourceUid: 'jaeger' }]);
    assert.equal(byUid.get('jaeger')?.type, 'jaeger');
    assert.equal(byUid.get('elasticsearch')?.jsonData?.index, 'reco-logs*');
    for (const p of allPanels(dashboard.panels)) {
      for (const uid of [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]) {
        if (uid !== undefined) assert.ok(byUid.has(uid), `panel ${p.title}: datasource ${uid} is not provisioned`);
      }
    }
    const providers = read('grafana', 'provisioning', 'dashboards', 'dashboards.yml');
    assert.match(providers, /path: \/var\/lib\/grafana\/dashboards/);
  });
});
