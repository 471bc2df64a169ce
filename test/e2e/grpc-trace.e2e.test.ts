/**
 * A gRPC call's trace in a real Jaeger (stack/jaeger.sh; the service exports OTLP/HTTP to
 * Jaeger's receiver directly): grpcurl sends a W3C `traceparent` as metadata, and Jaeger must
 * hold the server span under that trace and parent, named `recoscope.v1.Recommender/Recommend`
 * with the RPC semantic conventions, the model's reco.* stage spans below it, and the call's
 * access line must carry the same trace.id. A NOT_FOUND call is not an error span (the
 * client's mistake, as an HTTP 404); an INTERNAL one would be.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';
import { accessRecords, field, readLogFile, type RunningService } from '../helpers/service';
import { fetchJaegerTrace, isError, jaegerEnv, jaegerQueryUrl, parentOf, tag, type JaegerTrace } from './jaeger-helpers';
import { createStack, freePort, orphans, removeStack, stackCommand, stackDown, stackUp, startService, waitFor, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const API_KEY = 'grpc-trace-key-5e2a7c11';
const RPC = 'recoscope.v1.Recommender/Recommend';

describe('gRPC call → trace in Jaeger (W3C context from metadata, RPC conventions)', () => {
  let stack: TestStack;
  let service: RunningService;
  let grpcurl: string;
  let grpcAddress: string;
  let jaeger: string;

  async function grpcCall(body: object, traceparent: string): Promise<number> {
    const args = ['-plaintext', '-import-path', join(PROJECT_ROOT, 'proto'), '-proto', 'recommender.proto'];
    args.push('-H', `authorization: Bearer ${API_KEY}`, '-H', `traceparent: ${traceparent}`, '-d', JSON.stringify(body), grpcAddress, RPC);
    try {
      await execFileAsync(grpcurl, args, { timeout: 30_000 });
      return 0;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'number') throw error;
      return code;
    }
  }

  async function traceWithServerSpan(traceId: string, minSpans: number): Promise<JaegerTrace> {
    return waitFor(
      async () => {
        const t = await fetchJaegerTrace(jaeger, traceId);
        return t !== undefined && t.spans.length >= minSpans && t.spans.some((s) => s.operationName === RPC) ? t : undefined;
      },
      60_000,
      `trace ${traceId} with its gRPC server span in Jaeger`,
    );
  }

  before(async () => {
    const env = await jaegerEnv();
    stack = await createStack('grpc-trace', env);
    jaeger = jaegerQueryUrl(stack.env);
    await stackCommand(['install', 'grpcurl'], stack.env);
    const { stdout } = await execFileAsync('bash', ['-c', 'source stack/lib.sh && source stack/grpcurl.sh && grpcurl_bin'], { cwd: PROJECT_ROOT, env: { ...process.env, ...stack.env } });
    grpcurl = stdout.trim();
    await stackUp(['jaeger'], stack.env);
    const grpcPort = await freePort();
    grpcAddress = `127.0.0.1:${grpcPort}`;
    service = await startService(stack, {
      env: {
        API_KEY,
        GRPC_PORT: String(grpcPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${stack.env.JAEGER_OTLP_HTTP_PORT}`,
        OTEL_SERVICE_NAME: 'recoscope-grpc-e2e',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
  });

  after(async () => {
    if (service !== undefined) assert.equal(await service.stop('SIGTERM'), 0);
    if (stack === undefined) return;
    await stackDown(['jaeger'], stack.env);
    assert.deepEqual(orphans(stack), []);
    removeStack(stack);
  });

  it("a recommendation: the server span is the caller's child, with rpc.* and the model's stage spans", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    assert.equal(await grpcCall({ model: 'knn', user_id: 42 }, `00-${traceId}-${parentId}-01`), 0);
    const trace = await traceWithServerSpan(traceId, 2);
    const server = trace.spans.find((s) => s.operationName === RPC);
    assert.ok(server);
    assert.equal(parentOf(server), parentId, 'the caller (traceparent metadata) is the parent');
    assert.equal(tag(server, 'span.kind'), 'server');
    assert.equal(tag(server, 'rpc.system'), 'grpc');
    assert.equal(tag(server, 'rpc.service'), 'recoscope.v1.Recommender');
    assert.equal(tag(server, 'rpc.method'), 'Recommend');
    assert.equal(Number(tag(server, 'rpc.grpc.status_code')), 0);
    assert.equal(tag(server, 'reco.model'), 'knn');
    assert.equal(isError(server), false);
    const stages = trace.spans.filter((s) => parentOf(s) === server.spanID).map((s) => s.operationName);
    assert.ok(stages.includes('reco.score'), `stage spans under the server span: ${stages.join(', ')}`);
    assert.equal(trace.processes[server.processID]?.serviceName, 'recoscope-grpc-e2e');
    const line = await waitFor(
      () => accessRecords(readLogFile(service.logFile)).find((r) => field(r, 'trace.id') === traceId),
      10_000,
      'the access line with the trace id',
      100,
    );
    assert.equal(field(line, 'span.id'), server.spanID);
    assert.equal(field(line, 'rpc.grpc.status'), 'OK');
  });

  it('an unknown model: NOT_FOUND on the span, not an error span', async () => {
    const traceId = randomBytes(16).toString('hex');
    assert.equal(await grpcCall({ model: 'svd', user_id: 42 }, `00-${traceId}-${randomBytes(8).toString('hex')}-01`), 64 + 5);
    const trace = await traceWithServerSpan(traceId, 1);
    const server = trace.spans.find((s) => s.operationName === RPC);
    assert.ok(server);
    assert.equal(Number(tag(server, 'rpc.grpc.status_code')), 5);
    assert.equal(tag(server, 'error.grouping_key'), `404 model_not_found /${RPC}`);
    assert.equal(isError(server), false);
  });
});
