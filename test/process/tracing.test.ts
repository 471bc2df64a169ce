/**
 * Tracing on the real service process, without a collector (exports go to a closed port
 * and fail quietly): the response's `traceparent` carries the server span's real trace
 * flags, W3C context from the caller is honoured, and a bad OTEL_* value stops start-up
 * like any other bad setting. The span tree itself is checked on a real collector in
 * test/e2e/traces.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../loadtest/child-server';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../../src/paths';
import { rawRequest, type RawResponse } from '../helpers/http';
import { accessRecords, field, readLogFile, startService, type RunningService } from '../helpers/service';

const API_KEY = 'lifecycle-tracing-key-42';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

function traceparentOf(res: RawResponse): { traceId: string; spanId: string; flags: string } {
  const header = res.headers.traceparent;
  assert.equal(typeof header, 'string', 'traceparent response header');
  const match = TRACEPARENT.exec(header as string);
  assert.ok(match, `well-formed traceparent: ${String(header)}`);
  assert.equal(res.headers['x-trace-id'], match[1], 'x-trace-id is the traceparent trace id');
  return { traceId: match[1]!, spanId: match[2]!, flags: match[3]! };
}

async function tracedService(sampler: string): Promise<RunningService> {
  const closed = await freePort();
  return startService({
    env: {
      API_KEY,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closed}`,
      OTEL_TRACES_SAMPLER: sampler,
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    },
  });
}

for (const [sampler, flags] of [
  ['always_off', '00'],
  ['always_on', '01'],
] as const) {
  describe(`tracing on, OTEL_TRACES_SAMPLER=${sampler}`, () => {
    let service: RunningService;
    before(async () => {
      service = await tracedService(sampler);
    });
    after(async () => {
      await service?.stop();
    });

    it(`every response's traceparent ends in -${flags}, and the access line names the same trace`, async () => {
      const responses = [
        await rawRequest(service.url, '/reco/knn/1', { headers: AUTH }),
        await rawRequest(service.url, '/reco/popular/2', { headers: AUTH }),
        await rawRequest(service.url, '/health'),
        await rawRequest(service.url, '/reco/knn/1'),
      ];
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 200, 200, 401],
      );
      const ids = responses.map(traceparentOf);
      for (const id of ids) assert.equal(id.flags, flags);
      assert.equal(new Set(ids.map((i) => i.traceId)).size, ids.length, 'a new trace per request');
      await service.stop();
      const lines = accessRecords(readLogFile(service.logFile));
      for (const id of ids) {
        const line = lines.find((l) => field(l, 'trace.id') === id.traceId);
        assert.ok(line, `an access line with trace.id ${id.traceId}`);
        assert.equal(field(line, 'span.id'), id.spanId);
      }
    });
  });
}

describe('tracing on: W3C trace context from the caller', () => {
  let service: RunningService;
  before(async () => {
    service = await tracedService('parentbased_always_off');
  });
  after(async () => {
    await service?.stop();
  });

  it('a sampled caller makes a sampled child span of its trace, even when new traces are not sampled', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentSpan = 'b7ad6b7169203331';
    const res = await rawRequest(service.url, '/reco/knn/3', { headers: { ...AUTH, traceparent: `00-${traceId}-${parentSpan}-01` } });
    assert.equal(res.status, 200);
    const id = traceparentOf(res);
    assert.equal(id.traceId, traceId, 'same trace as the caller');
    assert.notEqual(id.spanId, parentSpan, 'our own server span');
    assert.equal(id.flags, '01');
  });

  it('an unsampled caller, or none, gives -00 under parentbased_always_off', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const child = traceparentOf(await rawRequest(service.url, '/reco/knn/4', { headers: { ...AUTH, traceparent: `00-${traceId}-00f067aa0ba902b7-00` } }));
    assert.equal(child.traceId, traceId);
    assert.equal(child.flags, '00');
    assert.equal(traceparentOf(await rawRequest(service.url, '/reco/knn/4', { headers: AUTH })).flags, '00');
  });
});

describe('tracing: a bad OTEL_* value stops start-up', () => {
  it('exit 2 with the config error naming the variable (no silent fallback)', () => {
    for (const env of [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'sometimes' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' },
    ]) {
      const run = spawnSync(process.execPath, [SERVICE_MAIN_JS], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, API_KEY, LOG_FILE_ENABLED: 'false', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      const bad = Object.keys(env).at(-1)!;
      assert.equal(run.status, 2, `${JSON.stringify(env)}: exit code\n${run.stderr}`);
      assert.match(run.stderr, new RegExp(`invalid configuration: .*${bad}`));
    }
  });
});
