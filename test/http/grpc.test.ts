/**
 * The gRPC server in-process: startGrpcServer on a loopback port with real models (popular,
 * knn and knn_onnx on a small synthetic dataset) plus two test models (one that throws, one
 * whose answer the test releases), called with @grpc/grpc-js's client. The error contract
 * as statuses (code, message, `error-key` trailer, google.rpc.ErrorInfo details), the
 * wrong-key throttle, the access line of each call, the grpc_* metrics, and the drain:
 * in-flight calls finish, new ones are refused. (grpcurl against the compiled service:
 * test/e2e/grpc.e2e.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { generateInteractions } from '../../src/data/synthetic';
import { rpcModels, type RpcModel, type RpcModelLookup } from '../../src/grpc/models';
import { MAX_HISTORY, PROTO_PATH, startGrpcServer, type GrpcServerOptions, type RunningGrpcServer } from '../../src/grpc/server';
import { decodeErrorInfo } from '../../src/grpc/status';
import { modelSpec } from '../../src/models/catalog';
import type { ItemKnnRecommender } from '../../src/models/knn';
import { exportKnnOnnx, loadOnnxRuntime, OnnxKnnRecommender } from '../../src/models/onnx-knn';
import type { PopularRecommender } from '../../src/models/popular';
import { ModelRegistry } from '../../src/models/registry';
import { untracedStages } from '../../src/models/stages';
import { instantiate, trainModel } from '../../src/models/training';
import type { Recommendation } from '../../src/models/types';
import { ServiceMetrics } from '../../src/observability/metrics';
import { registerSecret } from '../../src/observability/redact';
import { MemoryLog } from '../helpers/memory-log';
import { logger } from '../../src/observability/logger';
import { field, type LogRecord } from '../helpers/service';

const API_KEY = 'grpc-contract-key-3b8e41';
const PARAMS = { popularWindowDays: 14, knnNeighbours: 20, bm25K1: 1.2, bm25B: 0.75 };
const THROTTLE_LIMIT = 3;
const METHOD = '/recoscope.v1.Recommender/Recommend';

interface Reply {
  item_ids: number[];
  cold_start: boolean;
  fallback: number;
}
type RecommenderClient = grpc.Client & {
  Recommend(request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply?: Reply) => void): grpc.ClientUnaryCall;
};

function metadataWith(key: string | null): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (key !== null) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

describe('gRPC server (in-process, grpc-js client)', () => {
  // The service's own logger, writing to the log writer's memory output (the production fast path).
  const transport = new MemoryLog().attach();
  const metrics = new ServiceMetrics({ routes: [], defaultMetrics: false });
  let server: RunningGrpcServer;
  let client: RecommenderClient;
  let knn: ItemKnnRecommender;
  let onnx: OnnxKnnRecommender;
  let release: (() => void) | undefined;
  let slowStarted: Promise<void>;
  let markSlowStarted: () => void;
  let callNumber = 0;
  let serverOptions: GrpcServerOptions;

  function call(request: object, key: string | null = API_KEY, deadlineMs = 10_000): Promise<{ error: grpc.ServiceError | null; reply: Reply | undefined; n: number }> {
    const n = ++callNumber;
    return new Promise((resolve) => {
      client.Recommend(request, metadataWith(key), { deadline: Date.now() + deadlineMs }, (error, reply) => resolve({ error, reply, n }));
    });
  }

  async function lineOf(predicate: (r: LogRecord) => boolean): Promise<LogRecord> {
    return transport.waitFor((r) => field(r, 'rpc.system') === 'grpc' && predicate(r));
  }

  before(async () => {
    registerSecret(API_KEY);
    const data = generateInteractions({ users: 1000, items: 300, interactions: 15_000, seed: 5 });
    const registry = new ModelRegistry();
    const ps = modelSpec('popular', PARAMS);
    const popular = instantiate(ps, trainModel(ps, data).state, data, undefined) as PopularRecommender;
    registry.add(popular);
    const ks = modelSpec('knn', PARAMS);
    knn = instantiate(ks, trainModel(ks, data).state, data, popular) as ItemKnnRecommender;
    registry.add(knn);
    const runtime = loadOnnxRuntime();
    assert.ok(runtime.ort !== undefined, 'onnxruntime-node must be installed (an optional dependency npm ci installs)');
    onnx = await OnnxKnnRecommender.create(runtime.ort, exportKnnOnnx(knn.graph, 'test'), data, popular);
    const real = rpcModels(registry, onnx);
    slowStarted = new Promise((resolve) => (markSlowStarted = resolve));
    const extra = new Map<string, RpcModel>([
      [
        'broken',
        {
          forUser: () => {
            throw new TypeError('model state corrupted');
          },
          forItems: () => {
            throw new TypeError('model state corrupted');
          },
        },
      ],
      [
        'slow',
        {
          forUser: (userId, k) => real.get('popular')!.forUser(userId, k, untracedStages),
          forItems: (_items, k) =>
            new Promise<Recommendation>((resolve) => {
              release = () => resolve({ items: Array.from({ length: k }, (_, i) => i + 1), coldStart: false, fallback: 0 });
              markSlowStarted();
            }),
        },
      ],
    ]);
    const models: RpcModelLookup = { get: (name) => extra.get(name) ?? real.get(name), names: () => [...real.names(), ...extra.keys()] };
    metrics.setModels(models.names().map((model) => ({ model, version: 'test', datasetFingerprint: 'test', source: 'trained', loadSeconds: 0 })));
    serverOptions = { host: '127.0.0.1', port: 0, models, apiKey: API_KEY, kRecs: 10, logger, metrics, authFailureLimit: THROTTLE_LIMIT, authFailureWindowMs: 60_000 };
    server = await startGrpcServer(serverOptions);
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    // loadPackageDefinition's tree is untyped; the path is the proto's package.
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { recoscope: { v1: { Recommender: new (address: string, credentials: grpc.ChannelCredentials) => RecommenderClient } } };
    client = new pkg.recoscope.v1.Recommender(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await server?.drain(1_000);
    await onnx?.close();
  });

  it('recommends for a user as the model does, with an info access line in the ECS access shape', async () => {
    const { error, reply } = await call({ model: 'knn', user_id: knn.data.users.ids[3], k: 7 });
    assert.equal(error, null);
    assert.deepEqual(reply?.item_ids, knn.recommend(knn.data.users.ids[3] as number, 7, untracedStages).items);
    const line = await lineOf((r) => field(r, 'reco.model') === 'knn' && field(r, 'reco.k') === 7);
    assert.equal(field(line, 'event.dataset'), 'recoscope.access');
    assert.deepEqual(field(line, 'event.category'), ['web']);
    assert.deepEqual(field(line, 'event.type'), ['access']);
    assert.equal(field(line, 'event.outcome'), 'success');
    assert.equal(field(line, 'log.level'), 'info');
    assert.equal(field(line, 'rpc.grpc.status'), 'OK');
    assert.equal(field(line, 'url.path'), METHOD);
    assert.equal(field(line, 'reco.items_count'), 7);
    assert.equal(field(line, 'client.ip'), '127.0.0.1');
    assert.match(String(field(line, 'user_agent.original')), /grpc-node-js/);
  });

  it('recommends for an item history; knn_onnx agrees with knn', async () => {
    const history = [...knn.data.items.ids.slice(10, 14)];
    const a = await call({ model: 'knn', history: { item_ids: history }, k: 6 });
    const b = await call({ model: 'knn_onnx', history: { item_ids: history }, k: 6 });
    assert.equal(a.error, null);
    assert.equal(b.error, null);
    assert.equal(a.reply?.item_ids.length, 6);
    assert.deepEqual(b.reply?.item_ids, a.reply?.item_ids);
    for (const item of history) assert.ok(!a.reply?.item_ids.includes(item));
  });

  it('uses K_RECS when k is unset', async () => {
    const { reply } = await call({ model: 'popular', user_id: 1 });
    assert.equal(reply?.item_ids.length, 10);
  });

  const contract: { what: string; request: object; key?: string | null; code: grpc.status; errorKey: string; message: RegExp; loc?: string }[] = [
    { what: 'no key', request: { model: 'knn', user_id: 1 }, key: null, code: grpc.status.UNAUTHENTICATED, errorKey: 'unauthorized', message: /invalid bearer token/ },
    { what: 'unknown model', request: { model: 'svd', user_id: 1 }, code: grpc.status.NOT_FOUND, errorKey: 'model_not_found', message: /^Model svd not found$/ },
    { what: 'negative user id', request: { model: 'knn', user_id: -5 }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /user_id/, loc: 'user_id' },
    { what: 'user id above 10^9', request: { model: 'knn', user_id: 1_000_000_001 }, code: grpc.status.NOT_FOUND, errorKey: 'user_not_found', message: /^User 1000000001 not found$/ },
    { what: 'k too large', request: { model: 'knn', user_id: 1, k: 1001 }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /k must be/, loc: 'k' },
    { what: 'negative k', request: { model: 'knn', user_id: 1, k: -1 }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /k must be/, loc: 'k' },
    { what: 'neither user nor history', request: { model: 'knn' }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /one of user_id or history/, loc: 'subject' },
    { what: 'no model', request: { model: '', user_id: 1 }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /model is required/, loc: 'model' },
    {
      what: 'history too long',
      request: { model: 'knn', history: { item_ids: Array.from({ length: MAX_HISTORY + 1 }, (_, i) => i) } },
      code: grpc.status.INVALID_ARGUMENT,
      errorKey: 'validation_error',
      message: /at most 1000/,
      loc: 'history.item_ids',
    },
    { what: 'negative item id', request: { model: 'knn', history: { item_ids: [3, -1] } }, code: grpc.status.INVALID_ARGUMENT, errorKey: 'validation_error', message: /non-negative/, loc: 'history.item_ids' },
  ];
  for (const c of contract) {
    it(`${c.what} → ${grpc.status[c.code]} ${c.errorKey} (message, trailer, ErrorInfo, access line)`, async () => {
      const { error } = await call(c.request, c.key === undefined ? API_KEY : c.key);
      assert.ok(error !== null, 'expected an error status');
      assert.equal(error.code, c.code);
      assert.match(error.details, c.message);
      assert.deepEqual(error.metadata.get('error-key'), [c.errorKey]);
      const bin = error.metadata.get('grpc-status-details-bin')[0];
      assert.ok(Buffer.isBuffer(bin), 'rich status details present');
      const info = decodeErrorInfo(bin);
      assert.equal(info?.reason, c.errorKey);
      assert.equal(info?.domain, 'recoscope');
      assert.equal(info?.code, c.code);
      assert.equal(info?.metadata.error_loc, c.loc);
      const line = await lineOf((r) => field(r, 'error.message') === error.details && field(r, 'rpc.grpc.status_code') === c.code);
      assert.equal(field(line, 'log.level'), 'warn');
      assert.equal(field(line, 'event.outcome'), 'failure');
      assert.equal(field(line, 'reco.error_key'), c.errorKey);
      assert.equal(field(line, 'error.type'), c.errorKey);
      assert.equal(field(line, 'error.stack_trace'), undefined, 'no stack for a client error');
    });
  }

  it('a model that throws → INTERNAL server_error: no details to the client, the stack in the error access line', async () => {
    const { error } = await call({ model: 'broken', user_id: 1 });
    assert.equal(error?.code, grpc.status.INTERNAL);
    assert.equal(error?.details, 'Internal Server Error');
    assert.doesNotMatch(JSON.stringify(error?.metadata.getMap()), /corrupted/);
    const line = await lineOf((r) => field(r, 'reco.model') === 'broken');
    assert.equal(field(line, 'log.level'), 'error');
    assert.equal(field(line, 'error.type'), 'TypeError');
    assert.equal(field(line, 'error.message'), 'model state corrupted');
    assert.match(String(field(line, 'error.stack_trace')), /TypeError: model state corrupted/);
    assert.match(String(field(line, 'error.grouping_key')), /^500 TypeError at /);
  });

  it(`throttles an address after ${THROTTLE_LIMIT} wrong keys: RESOURCE_EXHAUSTED with retry-after, even with the right key`, async () => {
    // The earlier "no key" call counted once.
    for (let i = 1; i < THROTTLE_LIMIT; i++) assert.equal((await call({ model: 'knn', user_id: 1 }, 'wrong-key-000000000000')).error?.code, grpc.status.UNAUTHENTICATED);
    const { error } = await call({ model: 'knn', user_id: 1 });
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(error?.metadata.get('error-key'), ['too_many_requests']);
    assert.ok(Number(error?.metadata.get('retry-after')[0]) > 0);
    const text = transport.records.map((r) => JSON.stringify(r)).join('\n');
    assert.ok(!text.includes('wrong-key-000000000000'), 'a wrong key was logged');
    assert.ok(!text.includes(API_KEY), 'the key was logged');
  });

  it('counts every call in grpc_requests_total and grpc_request_duration_seconds, none left in progress', async () => {
    const text = await metrics.render(false);
    const value = (series: string): number => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    const statuses = new Map<string, number>();
    for (const r of transport.records) {
      if (field(r, 'rpc.system') !== 'grpc') continue;
      const s = String(field(r, 'rpc.grpc.status'));
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    assert.ok(statuses.size >= 5);
    for (const [status, n] of statuses) {
      assert.equal(value(`grpc_requests_total{method="${METHOD}",status="${status}"}`), n, status);
      assert.equal(value(`grpc_request_duration_seconds_count{method="${METHOD}",status="${status}"}`), n, status);
    }
    assert.equal(value(`grpc_requests_in_progress{method="${METHOD}"}`), 0);
    assert.equal(value('recoscope_recommendations_total{model="svd",outcome="model_not_found",arm="none",model_version="none"}'), Number.NaN, 'an unknown model is not a label value');
    assert.equal(value('recoscope_recommendations_total{model="unknown",outcome="model_not_found",arm="none",model_version="none"}'), 1);
    assert.equal(value('recoscope_recommendations_total{model="knn_onnx",outcome="ok",arm="none",model_version="none"}'), 1);
  });

  it('drains: an in-flight call completes, a new call is refused, then drain resolves', async () => {
    // Its own server (with its own wrong-key throttle, which the test above filled).
    const own = await startGrpcServer({ ...serverOptions, metrics: new ServiceMetrics({ routes: [], defaultMetrics: false }) });
    const Client = client.constructor as new (address: string, credentials: grpc.ChannelCredentials) => RecommenderClient;
    const first = new Client(`127.0.0.1:${own.port}`, grpc.credentials.createInsecure());
    const inFlight = new Promise<{ error: grpc.ServiceError | null; reply?: Reply }>((resolve) => {
      first.Recommend({ model: 'slow', history: { item_ids: [1] }, k: 3 }, metadataWith(API_KEY), { deadline: Date.now() + 20_000 }, (error, reply) => resolve({ error, reply }));
    });
    await slowStarted;
    let drained: boolean | undefined;
    const draining = own.drain(20_000).then((ok) => (drained = ok));
    // A new channel after the drain started: refused (the round trip also gives a drain that
    // does not wait every chance to resolve before the check below).
    const second = new Client(`127.0.0.1:${own.port}`, grpc.credentials.createInsecure());
    const refused = await new Promise<grpc.ServiceError | null>((resolve) => {
      second.Recommend({ model: 'popular', user_id: 1 }, metadataWith(API_KEY), { deadline: Date.now() + 5_000 }, (error) => resolve(error));
    });
    second.close();
    assert.ok(refused !== null, 'a call after the drain started must be refused');
    assert.equal(drained, undefined, 'drain resolved while a call was still in flight');
    release?.();
    const result = await inFlight;
    assert.equal(result.error, null);
    assert.deepEqual(result.reply?.item_ids, [1, 2, 3]);
    assert.equal(await draining, true);
    first.close();
  });
});
