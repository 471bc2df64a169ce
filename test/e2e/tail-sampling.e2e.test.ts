/**
 * Tail sampling at the collector: the service exports every span (its default sampler,
 * parentbased_always_on) to a real collector running otel-collector/config.tail-sampling.yaml
 * with a 1 % probabilistic share. An error trace is kept whole, whatever the coin says for
 * the rest, and the rest is cut down to a small share. With head sampling at 1 % the same
 * error trace would be kept with probability 0.01.
 *
 * No timing is asserted: waits on the collector's file are bounded only so a broken run ends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';
import { rawRequest, type RawResponse } from '../helpers/http';
import { startService, type RunningService } from '../helpers/service';
import { readSpans, startCollector, waitForSpans, type FlatSpan, type TestCollector } from './trace-helpers';

const API_KEY = 'e2e-tail-sampling-key-5c1e8a';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const STATUS_ERROR = 2;
/** Successful requests before the failing one: 200 at 1 % keeps about 2 of them. */
const OK_REQUESTS = 200;
/** Far above what a 1 % share of 200 gives (P(X >= 30) for Binomial(200, 0.01) is < 1e-20). */
const OK_KEPT_BOUND = 30;

function traceId(res: RawResponse): string {
  const id = res.headers['x-trace-id'];
  assert.equal(typeof id, 'string', 'x-trace-id response header');
  return id as string;
}

describe('tail sampling at the collector', { timeout: 15 * 60_000 }, () => {
  let collector: TestCollector;
  let service: RunningService;
  const okTraces: string[] = [];
  let errorTrace = '';
  let errorStatus = 0;
  let spans: FlatSpan[] = [];

  before(async () => {
    collector = await startCollector('tail', {
      OTELCOL_EXTRA_CONFIG: join(PROJECT_ROOT, 'otel-collector', 'config.tail-sampling.yaml'),
      OTELCOL_TAIL_PERCENT: '1',
      // Short, so the test waits less; the policy logic is the one configured for real use.
      OTELCOL_TAIL_DECISION_WAIT: '2s',
      // The latency policy is out of this test's way: no request of the small dataset is
      // this slow, so every ok trace kept is the probabilistic share's.
      OTELCOL_TAIL_LATENCY_MS: '60000',
    });
    service = await startService({
      env: {
        LOG_DIR: mkdtempSync(join(tmpdir(), 'recoscope-tail-logs-')),
        API_KEY,
        FAULT_USER_DIVISOR: '666',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        OTEL_TRACES_SAMPLER: 'parentbased_always_on',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
    for (let i = 0; i < OK_REQUESTS; i++) {
      const res = await rawRequest(service.url, `/reco/popular/${1 + (i % 500)}`, { headers: AUTH });
      assert.equal(res.status, 200);
      okTraces.push(traceId(res));
    }
    // Last: when its decision is out, the decisions on every earlier trace are too (the
    // processor decides traces in arrival order, decision_wait after their first span).
    const failing = await rawRequest(service.url, '/reco/knn/666', { headers: AUTH });
    errorStatus = failing.status;
    errorTrace = traceId(failing);
    spans = await waitForSpans(
      collector.filePath,
      (all) => all.some((s) => s.traceId === errorTrace && s.parentSpanId === ''),
      `the server span of the error trace ${errorTrace}`,
      120_000,
    );
    // The collector writes a kept trace in one go; read again in case a batch was split.
    spans = await waitForSpans(collector.filePath, (all) => all.length >= spans.length, 'the same spans again');
  });

  after(async () => {
    await service?.stop();
    await collector?.stop();
  });

  it('keeps the error trace, whole', () => {
    assert.equal(errorStatus, 500);
    const trace = spans.filter((s) => s.traceId === errorTrace);
    const names = trace.map((s) => s.name).sort();
    assert.ok(names.includes('GET /reco/:model_name/:user_id'), `server span kept: ${names.join(', ')}`);
    assert.ok(names.includes('reco.load_history'), `the failing stage kept: ${names.join(', ')}`);
    assert.ok(trace.some((s) => s.status.code === STATUS_ERROR));
    // Every kept span of the trace links up to the kept root: nothing of it was dropped.
    const ids = new Set(trace.map((s) => s.spanId));
    for (const s of trace) assert.ok(s.parentSpanId === '' || ids.has(s.parentSpanId), `${s.name}'s parent is kept`);
  });

  it('cuts the successful traces down to a small share', () => {
    const kept = new Set(readSpans(collector.filePath).map((s) => s.traceId));
    const okKept = okTraces.filter((id) => kept.has(id)).length;
    console.log(`tail sampling: kept ${okKept} of ${OK_REQUESTS} successful traces at a 1 % share, and the error trace`);
    assert.ok(okKept < OK_KEPT_BOUND, `kept ${okKept} of ${OK_REQUESTS} successful traces: not sampled at 1 %`);
  });
});
