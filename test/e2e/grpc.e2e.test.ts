/**
 * The gRPC server against a client nobody here wrote: grpcurl (stack/grpcurl.sh, built from
 * the Go module proxy) calls the compiled service with the repository's .proto. A
 * recommendation (by user, equal to the HTTP answer of the same model; by item history,
 * knn_onnx equal to knn), a bad key (Unauthenticated), an unknown model (NotFound) and a
 * bad argument (InvalidArgument), each with its error_key in the status details grpcurl
 * prints, and each call with exactly one access line; then the grpc_* metrics the calls left.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths';
import { accessRecords, field, readLogFile, type LogRecord, type RunningService } from '../helpers/service';
import { freePort, stackCommand, startService, createStack, removeStack, waitFor, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const API_KEY = 'grpc-e2e-key-7c1d0b9e';
const RPC = 'recoscope.v1.Recommender/Recommend';

interface GrpcurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('gRPC server ← grpcurl (real client, repository .proto)', () => {
  let stack: TestStack;
  let service: RunningService;
  let grpcurl: string;
  let grpcAddress: string;
  let metricsUrl: string;
  /** User 42's recommendation: items the dataset has, for the item-history call. */
  let basket: number[] = [];
  /** Calls made so far, in order: the access lines must come in the same order. */
  const calls: { what: string; status: string }[] = [];

  async function call(what: string, status: string, body: object, key: string | undefined = API_KEY): Promise<GrpcurlResult> {
    const args = ['-plaintext', '-import-path', join(PROJECT_ROOT, 'proto'), '-proto', 'recommender.proto', '-proto', 'google/rpc/error_info.proto'];
    if (key !== undefined) args.push('-H', `authorization: Bearer ${key}`);
    args.push('-d', JSON.stringify(body), grpcAddress, RPC);
    calls.push({ what, status });
    try {
      const { stdout, stderr } = await execFileAsync(grpcurl, args, { timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw error;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** The access line of the n-th call (0-based), once written. */
  async function accessLine(n: number): Promise<LogRecord> {
    const lines = await waitFor(
      () => {
        const rpc = accessRecords(readLogFile(service.logFile)).filter((r) => field(r, 'rpc.system') === 'grpc');
        return rpc.length > n ? rpc : undefined;
      },
      10_000,
      `the access line of gRPC call ${n} (${calls[n]?.what})`,
      100,
    );
    return lines[n] as LogRecord;
  }

  before(async () => {
    stack = await createStack('grpc');
    await stackCommand(['install', 'grpcurl'], stack.env);
    const { stdout } = await execFileAsync('bash', ['-c', 'source stack/lib.sh && source stack/grpcurl.sh && grpcurl_bin'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...stack.env },
    });
    grpcurl = stdout.trim();
    const grpcPort = await freePort();
    const metricsPort = await freePort();
    grpcAddress = `127.0.0.1:${grpcPort}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    service = await startService(stack, { env: { API_KEY, GRPC_PORT: String(grpcPort), METRICS_PORT: String(metricsPort) } });
  });

  after(async () => {
    if (service !== undefined) assert.equal(await service.stop('SIGTERM'), 0);
    if (stack !== undefined) removeStack(stack);
  });

  it('is grpcurl, a client built from its own module', async (t) => {
    const { stdout, stderr } = await execFileAsync(grpcurl, ['-version']);
    const version = `${stdout}${stderr}`.trim();
    assert.match(version, /^grpcurl v\d+\.\d+\.\d+/);
    t.diagnostic(version);
  });

  it('recommends for a user: the same items as GET /reco/knn/{user} of the same service', async () => {
    const result = await call('knn user 42', 'OK', { model: 'knn', user_id: 42 });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { itemIds: number[] };
    const http = (await (await fetch(`${service.url}/reco/knn/42`, { headers: { Authorization: `Bearer ${API_KEY}` } })).json()) as { items: number[] };
    assert.equal(answer.itemIds.length, 10);
    assert.deepEqual(answer.itemIds, http.items);
    basket = answer.itemIds.slice(0, 3);
    const line = await accessLine(0);
    assert.equal(field(line, 'log.level'), 'info');
    assert.equal(field(line, 'event.outcome'), 'success');
    assert.equal(field(line, 'rpc.grpc.status'), 'OK');
    assert.equal(field(line, 'rpc.grpc.status_code'), 0);
    assert.equal(field(line, 'url.path'), `/${RPC}`);
    assert.equal(field(line, 'reco.model'), 'knn');
    assert.equal(field(line, 'reco.user_id'), 42);
    assert.equal(field(line, 'reco.items_count'), 10);
    assert.match(String(field(line, 'user_agent.original')), /^grpcurl\//);
    assert.equal(field(line, 'client.ip'), '127.0.0.1');
    assert.ok(Number(field(line, 'event.duration')) > 0);
  });

  it('recommends for an item history: knn_onnx (onnxruntime) gives knn\'s items', async () => {
    assert.equal(basket.length, 3);
    const history = { item_ids: basket };
    const knn = await call('knn history', 'OK', { model: 'knn', history, k: 5 });
    const onnx = await call('knn_onnx history', 'OK', { model: 'knn_onnx', history, k: 5 });
    assert.equal(knn.code, 0, knn.stderr);
    assert.equal(onnx.code, 0, onnx.stderr);
    const a = (JSON.parse(knn.stdout) as { itemIds: number[] }).itemIds;
    const b = (JSON.parse(onnx.stdout) as { itemIds: number[] }).itemIds;
    assert.equal(a.length, 5);
    for (const item of history.item_ids) assert.ok(!a.includes(item), `history item ${item} recommended back`);
    assert.deepEqual(b, a);
    assert.equal(field(await accessLine(2), 'reco.model'), 'knn_onnx');
    assert.equal(field(await accessLine(2), 'reco.history_length'), 3);
  });

  const failures = [
    { what: 'bad key', key: 'not-the-key-0123456789', body: { model: 'knn', user_id: 42 }, code: 'Unauthenticated', status: 'UNAUTHENTICATED', errorKey: 'unauthorized', grpc: 16 },
    { what: 'unknown model', key: API_KEY, body: { model: 'svd', user_id: 42 }, code: 'NotFound', status: 'NOT_FOUND', errorKey: 'model_not_found', grpc: 5 },
    { what: 'bad argument', key: API_KEY, body: { model: 'knn', user_id: -1 }, code: 'InvalidArgument', status: 'INVALID_ARGUMENT', errorKey: 'validation_error', grpc: 3 },
  ];
  for (const f of failures) {
    it(`${f.what} → ${f.code} with error_key ${f.errorKey}, and its access line`, async () => {
      const index = calls.length;
      const result = await call(f.what, f.status, f.body, f.key);
      // grpcurl exits with 64 + the status code of a failed call.
      assert.equal(result.code, 64 + f.grpc, result.stderr);
      assert.match(result.stderr, new RegExp(`Code: ${f.code}\\b`));
      assert.match(result.stderr, new RegExp(`"reason": "${f.errorKey}"`));
      assert.match(result.stderr, /"domain": "recoscope"/);
      const line = await accessLine(index);
      assert.equal(field(line, 'log.level'), 'warn');
      assert.equal(field(line, 'event.outcome'), 'failure');
      assert.equal(field(line, 'rpc.grpc.status'), f.status);
      assert.equal(field(line, 'rpc.grpc.status_code'), f.grpc);
      assert.equal(field(line, 'reco.error_key'), f.errorKey);
      assert.equal(field(line, 'error.type'), f.errorKey);
      assert.equal(field(line, 'error.grouping_key'), `${f.status === 'UNAUTHENTICATED' ? 401 : f.status === 'NOT_FOUND' ? 404 : 422} ${f.errorKey} /${RPC}`);
    });
  }

  it('left exactly one access line per call, in order, and never the key', async () => {
    const last = await accessLine(calls.length - 1);
    assert.ok(last);
    const rpc = accessRecords(readLogFile(service.logFile)).filter((r) => field(r, 'rpc.system') === 'grpc');
    assert.deepEqual(
      rpc.map((r) => field(r, 'rpc.grpc.status')),
      calls.map((c) => c.status),
    );
    const text = readLogFile(service.logFile).map((r) => JSON.stringify(r)).join('\n');
    assert.ok(!text.includes(API_KEY), 'the API key appears in the log');
  });

  it('counts the calls in grpc_requests_total, grpc_request_duration_seconds and grpc_requests_in_progress', async () => {
    const text = await (await fetch(metricsUrl)).text();
    const method = `/${RPC}`;
    const value = (series: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const perStatus = new Map<string, number>();
    for (const c of calls) perStatus.set(c.status, (perStatus.get(c.status) ?? 0) + 1);
    for (const [status, n] of perStatus) {
      assert.equal(value(`grpc_requests_total{method="${method}",status="${status}"}`), n, `grpc_requests_total ${status}`);
      assert.equal(value(`grpc_request_duration_seconds_count{method="${method}",status="${status}"}`), n, `duration count ${status}`);
    }
    assert.equal(value(`grpc_requests_in_progress{method="${method}"}`), 0);
    assert.equal(value('recoscope_recommendations_total{model="knn_onnx",outcome="ok",arm="none",model_version="none"}'), 1);
  });
});
