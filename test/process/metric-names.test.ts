/**
 * Every metric name the Grafana dashboard and the Prometheus rules use exists in a real scrape
 * of the compiled service (or is a recording rule defined in prometheus/rules).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http';
import { parseExposition, sampleNames } from '../helpers/metrics';
import { dashboardExprs, metricNames, recorded, rules } from '../helpers/metrics-config';
import { startService, type RunningService } from '../helpers/service';
import { freePort } from '../../loadtest/child-server';

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
});
