/**
 * The metrics configuration, checked against each other (the check against a real scrape of
 * the service is test/process/metric-names.test.ts):
 *  - the metric name extractor, and the dashboard's coverage;
 *  - every alert has a promtool unit test that fires and one that stays quiet;
 *  - compose wiring: Prometheus loads the same config/rules files as the local stack, Grafana's
 *    datasources link exemplars to Jaeger and the dashboard uses only provisioned datasources.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { allPanels, dashboard, dashboardExprs, metricNames, path, read, ruleFiles, rules } from '../helpers/metrics-config';

describe('metric names in the dashboard', () => {
  it('the name extractor finds metric names and nothing else', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job="x", route=~"/reco.*"}[$__rate_interval]))) / ignoring(x) group_left b:c:rate5m > 2 * up'),
      ['a_bucket', 'b:c:rate5m', 'up'],
    );
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

describe('the dashboard per experiment arm', () => {
  it('has requests/s and p99 latency by arm, over experiment requests only, with exemplars', () => {
    const panels = allPanels(dashboard.panels) as { title?: string; targets?: { expr?: string; exemplar?: boolean }[] }[];
    const byArm = panels.filter((p) => (p.targets ?? []).some((t) => /by \((le, )?arm\b/.test(t.expr ?? '')));
    const rate = byArm.find((p) => p.targets?.some((t) => /rate\(http_server_request_duration_seconds_count\{[^}]*arm!="none"/.test(t.expr ?? '')));
    const p99 = byArm.find((p) => p.targets?.some((t) => /histogram_quantile\(0\.99, sum by \(le, arm\) \(rate\(http_server_request_duration_seconds_bucket\{[^}]*arm!="none"/.test(t.expr ?? '') && t.exemplar === true));
    assert.ok(rate, 'no requests/s-by-arm panel');
    assert.ok(p99, 'no p99-by-arm panel with exemplars');
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
