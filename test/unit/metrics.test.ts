/** The metrics module in process: label bounding, outcomes, format negotiation, config. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { ROUTES } from '../../src/contracts';
import { ServiceMetrics, wantsOpenMetrics, type RequestObservation } from '../../src/observability/metrics';
import { parseExposition, sampleValue } from '../helpers/metrics';

function metrics(): ServiceMetrics {
  const m = new ServiceMetrics({ routes: Object.values(ROUTES), defaultMetrics: false });
  m.setModels([{ model: 'knn', version: 'v1', datasetFingerprint: 'abc', source: 'artifact', loadSeconds: 0.5 }], 1.25);
  return m;
}

function done(m: ServiceMetrics, o: Partial<RequestObservation>): void {
  m.requestStarted();
  m.requestDone({ method: 'GET', route: ROUTES.reco, statusCode: 200, durationSeconds: 0.002, aborted: false, traceId: undefined, ...o });
}

describe('ServiceMetrics', () => {
  it('bounds every label: unknown models, unmatched routes, odd methods', async () => {
    const m = metrics();
    done(m, { method: 'PROPFIND', route: '/reco/:x', statusCode: 404, reco: { model: 'zzz', errorKey: 'model_not_found', coldStart: undefined, fallback: undefined } });
    done(m, { route: undefined, statusCode: 404 });
    const s = parseExposition(await m.render(false));
    const count = 'http_server_request_duration_seconds_count';
    const none = { arm: 'none', model_version: 'none' };
    assert.equal(sampleValue(s, count, { method: '_OTHER', route: 'unmatched', status_code: '404', ...none }), 1);
    assert.equal(sampleValue(s, count, { method: 'GET', route: 'unmatched', status_code: '404', ...none }), 1);
    assert.equal(sampleValue(s, 'recoscope_recommendations_total', { model: 'unknown', outcome: 'model_not_found', ...none }), 1);
  });

  it('derives the outcome: error key, aborted, cold start, fallback, ok; counts filled items', async () => {
    const m = metrics();
    const reco = (r: Partial<NonNullable<RequestObservation['reco']>>) => ({ model: 'knn', errorKey: undefined, coldStart: false, fallback: 0, ...r });
    done(m, { reco: reco({}) });
    done(m, { reco: reco({ coldStart: true, fallback: 10 }) });
    done(m, { reco: reco({ fallback: 3 }) });
    done(m, { statusCode: 500, reco: reco({ errorKey: 'server_error', coldStart: undefined, fallback: undefined }) });
    done(m, { aborted: true, reco: reco({ coldStart: undefined, fallback: undefined }) });
    const s = parseExposition(await m.render(false));
    const outcome = (o: string) => sampleValue(s, 'recoscope_recommendations_total', { model: 'knn', outcome: o, arm: 'none', model_version: 'none' });
    assert.deepEqual(['ok', 'cold_start', 'fallback', 'server_error', 'aborted'].map(outcome), [1, 1, 1, 1, 1]);
    assert.equal(sampleValue(s, 'recoscope_fallback_items_total', { model: 'knn' }), 13);
    // An aborted request that never got an answer is 499, not the default 200.
    assert.equal(sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'GET', route: ROUTES.reco, status_code: '499', arm: 'none', model_version: 'none' }), 1);
    assert.equal(sampleValue(s, 'http_server_active_requests', {}), 0);
  });

  it('exposes model info and load times', async () => {
    const s = parseExposition(await metrics().render(false));
    assert.equal(sampleValue(s, 'recoscope_model_info', { model: 'knn', version: 'v1', dataset_fingerprint: 'abc' }), 1);
    assert.equal(sampleValue(s, 'recoscope_model_load_duration_seconds', { model: 'knn', source: 'artifact' }), 0.5);
    assert.equal(sampleValue(s, 'recoscope_dataset_load_duration_seconds', {}), 1.25);
  });

  it('writes exemplars only in OpenMetrics, and only for traced requests', async () => {
    const m = metrics();
    done(m, { traceId: '0af7651916cd43dd8448eb211c80319c', durationSeconds: 0.003 });
    done(m, { durationSeconds: 0.2 });
    const om = await m.render(true);
    assert.match(om, /^http_server_request_duration_seconds_bucket\{le="0\.005",.*\} 1 # \{trace_id="0af7651916cd43dd8448eb211c80319c"\} 0\.003 \d+/m);
    assert.equal(om.match(/# \{/g)?.length, 1, 'one exemplar: the untraced request has none');
    assert.doesNotMatch(await m.render(false), /trace_id/);
  });

  it('labels by arm and model version: configured arms and loaded versions only, else other; exemplars kept', async () => {
    const m = metrics();
    m.setArms(['control', 'treatment']);
    const reco = (arm: string | undefined, modelVersion: string | undefined) => ({ model: 'knn', errorKey: undefined, coldStart: false, fallback: 0, arm, modelVersion });
    done(m, { traceId: '0af7651916cd43dd8448eb211c80319c', reco: reco('control', 'v1') });
    done(m, { reco: reco('treatment', 'v1') });
    done(m, { reco: reco('invented-arm', 'v9') });
    done(m, { reco: reco(undefined, undefined) });
    const s = parseExposition(await m.render(false));
    const count = (arm: string, modelVersion: string) =>
      sampleValue(s, 'http_server_request_duration_seconds_count', { method: 'GET', route: ROUTES.reco, status_code: '200', arm, model_version: modelVersion });
    assert.deepEqual([count('control', 'v1'), count('treatment', 'v1'), count('other', 'other'), count('none', 'none')], [1, 1, 1, 1]);
    const total = (arm: string, modelVersion: string) => sampleValue(s, 'recoscope_recommendations_total', { model: 'knn', outcome: 'ok', arm, model_version: modelVersion });
    assert.deepEqual([total('control', 'v1'), total('treatment', 'v1'), total('other', 'other'), total('none', 'none')], [1, 1, 1, 1]);
    m.addModelVersions(['v9']);
    done(m, { reco: reco('treatment', 'v9') });
    assert.equal(
      sampleValue(parseExposition(await m.render(false)), 'recoscope_recommendations_total', { model: 'knn', outcome: 'ok', arm: 'treatment', model_version: 'v9' }),
      1,
    );
    assert.match(await m.render(true), /^http_server_request_duration_seconds_bucket\{le="0\.0025",.*arm="control",model_version="v1"\} 1 # \{trace_id="0af7651916cd43dd8448eb211c80319c"\}/m);
  });

  it('counts accepted feedback by event', async () => {
    const m = metrics();
    m.feedbackEvent('click');
    m.feedbackEvent('click');
    m.feedbackEvent('view');
    const s = parseExposition(await m.render(false));
    assert.equal(sampleValue(s, 'recoscope_feedback_events_total', { event: 'click' }), 2);
    assert.equal(sampleValue(s, 'recoscope_feedback_events_total', { event: 'view' }), 1);
  });

  it('concurrent renders in both formats keep each format intact', async () => {
    const m = metrics();
    done(m, { reco: { model: 'knn', errorKey: undefined, coldStart: false, fallback: 0 } });
    const outs = await Promise.all([m.render(true), m.render(false), m.render(true), m.render(false)]);
    assert.match(outs[0], /^# TYPE recoscope_recommendations counter$/m);
    assert.match(outs[1], /^# TYPE recoscope_recommendations_total counter$/m);
    assert.ok(outs[2].endsWith('# EOF\n'));
    assert.doesNotMatch(outs[3], /# EOF/);
  });
});

describe('format negotiation', () => {
  it('OpenMetrics when ranked at least as high as text/plain', () => {
    assert.equal(wantsOpenMetrics(undefined), false);
    assert.equal(wantsOpenMetrics('*/*'), false);
    assert.equal(wantsOpenMetrics('text/plain'), false);
    assert.equal(wantsOpenMetrics('application/openmetrics-text; version=1.0.0'), true);
    // Prometheus 2.x's scrape Accept header.
    assert.equal(
      wantsOpenMetrics('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'),
      true,
    );
    assert.equal(wantsOpenMetrics('text/plain;q=1, application/openmetrics-text;q=0.5'), false);
    assert.equal(wantsOpenMetrics('application/openmetrics-text;q=0'), false);
  });
});

describe('METRICS_PORT', () => {
  it('defaults to 9464, 0 disables, anything else outside a port is refused', () => {
    assert.equal(loadConfig({}).metricsPort, 9464);
    assert.equal(loadConfig({ METRICS_PORT: '0' }).metricsPort, 0);
    assert.equal(loadConfig({ METRICS_PORT: '9100' }).metricsPort, 9100);
    assert.throws(() => loadConfig({ METRICS_PORT: '70000' }), /METRICS_PORT/);
    assert.throws(() => loadConfig({ METRICS_PORT: 'nine' }), /METRICS_PORT/);
  });
});
