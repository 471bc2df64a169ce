/**
 * `npm run bench:grpc [-- --quick]`: the gRPC rows, measured in one run on one machine.
 *
 *   1. the same model (knn, a known user per request) over HTTP (GET /reco/knn/{user},
 *      autocannon) and over gRPC unary (Recommender/Recommend, a @grpc/grpc-js channel),
 *      closed loop with the same number of requests in flight, from one compiled service
 *      pinned to CPU 0 (the load generator on CPU 1) — ratio gRPC / HTTP;
 *   2. knn_onnx vs knn over gRPC (same service, same users), and by item history;
 *   3. knn_onnx vs knn in-process: one model call, per-call latency over the same users
 *      (what onnxruntime's run costs against the JavaScript scoring, without any network).
 *
 * The two clients are not the same program (autocannon is a tuned HTTP/1.1 load generator,
 * grpc-js a general client), so row 1 measures client + server; the load generator's CPU
 * seconds are printed beside each row so the difference can be told apart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseCommandLine, runCli } from '../src/cli/usage';
import { generateInteractions } from '../src/data/synthetic';
import { PROTO_PATH } from '../src/grpc/server';
import { modelSpec } from '../src/models/catalog';
import type { ItemKnnRecommender } from '../src/models/knn';
import { exportKnnOnnx, loadOnnxRuntime, OnnxKnnRecommender } from '../src/models/onnx-knn';
import type { PopularRecommender } from '../src/models/popular';
import { untracedStages } from '../src/models/stages';
import { instantiate, trainModel } from '../src/models/training';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../src/paths';
import { freePort, startChildServer } from '../loadtest/child-server';
import { pinProcess } from '../loadtest/cpu';
import { fmtInt, fmtMs, fmtRatio } from './format';
import { runLoad } from './load';
import { percentileSorted } from './stats';

const API_KEY = 'bench-grpc-key-0123456789';
const SERVER_CPU = 0;
const LOADGEN_CPU = 1;
const USERS = 2000;

const USAGE = `usage: npm run bench:grpc [-- --quick] [--duration S] [--connections N] [--out DIR]
  --quick          CI mode: 3 s per row, 16 requests in flight
  --duration S     seconds per row (default 8)
  --connections N  requests in flight (HTTP connections / concurrent gRPC calls; default 32)
  --out DIR        where results-grpc.json / results-grpc.md go (default bench/)`;

interface Row {
  row: string;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  loadgenCpuSeconds: number;
}

type Client = grpc.Client & {
  Recommend(request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, reply?: { item_ids: number[] }) => void): grpc.ClientUnaryCall;
};

function recommenderClient(address: string): Client {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  // loadPackageDefinition's tree is untyped; the path is the proto's package.
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { recoscope: { v1: { Recommender: new (a: string, c: grpc.ChannelCredentials) => Client } } };
  return new pkg.recoscope.v1.Recommender(address, grpc.credentials.createInsecure());
}

/** Closed loop: `inFlight` calls outstanding for `seconds`, each answered call starting the next. */
async function grpcLoad(client: Client, request: (i: number) => object, inFlight: number, seconds: number, label: string): Promise<Row> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${API_KEY}`);
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const ok = await new Promise<boolean>((resolve) => client.Recommend(request(next++), metadata, (error) => resolve(error === null)));
      latencies.push(performance.now() - t0);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = Float64Array.from(latencies).sort();
  return {
    row: label,
    requests: latencies.length,
    rps: latencies.length / wall,
    p50Ms: percentileSorted(sorted, 50),
    p99Ms: percentileSorted(sorted, 99),
    errors,
    loadgenCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** One model call per user, timed in-process, after a warm-up. */
async function callLatency(label: string, users: readonly number[], call: (userId: number) => unknown): Promise<{ row: string; calls: number; p50Us: number; p99Us: number }> {
  for (const u of users.slice(0, 200)) await call(u);
  const micros = new Float64Array(users.length);
  for (let i = 0; i < users.length; i++) {
    const t0 = performance.now();
    const answer = call(users[i] as number);
    if (answer instanceof Promise) await answer;
    micros[i] = (performance.now() - t0) * 1000;
  }
  micros.sort();
  return { row: label, calls: users.length, p50Us: percentileSorted(micros, 50), p99Us: percentileSorted(micros, 99) };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quick = values.quick === true;
  const seconds = values.duration === undefined ? (quick ? 3 : 8) : Number(values.duration);
  const inFlight = values.connections === undefined ? (quick ? 16 : 32) : Number(values.connections);
  const outDir = values.out ?? join(PROJECT_ROOT, 'bench');

  const grpcPort = await freePort();
  const httpPort = await freePort();
  const service = await startChildServer({
    args: [SERVICE_MAIN_JS],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(httpPort),
      HOST: '127.0.0.1',
      API_KEY,
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: '0',
      // Both APIs write their access lines to the file, as in production; no stdout.
      LOG_STDOUT: 'false',
      LOG_DIR: join(PROJECT_ROOT, '.cache', 'bench-grpc-logs'),
      ARTIFACTS_DIR: join(PROJECT_ROOT, '.cache', 'bench-grpc-artifacts'),
      AUTH_FAILURE_LIMIT: '0',
    },
    // Stdout is off (as under load in production): ready when /health answers.
    readiness: { kind: 'poll', url: `http://127.0.0.1:${httpPort}`, path: '/health' },
    cpu: SERVER_CPU,
    keepStdout: false,
    timeoutMs: 120_000,
  });
  pinProcess(process.pid, LOADGEN_CPU);
  const client = recommenderClient(`127.0.0.1:${grpcPort}`);
  const rows: Row[] = [];
  try {
    const userIds = Array.from({ length: USERS }, (_, i) => i + 1);
    // Warm-up, unmeasured: JIT of both paths, the gRPC channel's connection, onnxruntime's first runs.
    const warmup = quick ? 1 : 3;
    await runLoad({ url: service.url, paths: userIds.map((u) => `/reco/knn/${u}`), headers: { Authorization: `Bearer ${API_KEY}` }, connections: inFlight, durationSeconds: warmup });
    for (const model of ['knn', 'knn_onnx']) await grpcLoad(client, (i) => ({ model, user_id: userIds[i % USERS] }), inFlight, warmup, 'warm-up');
    const http = await runLoad({
      url: service.url,
      paths: userIds.map((u) => `/reco/knn/${u}`),
      headers: { Authorization: `Bearer ${API_KEY}` },
      connections: inFlight,
      durationSeconds: seconds,
    });
    rows.push({ row: 'HTTP GET /reco/knn/{user}', requests: http.responses, rps: http.rps, p50Ms: http.p50Ms, p99Ms: http.p99Ms, errors: http.errors + http.non2xx, loadgenCpuSeconds: http.generatorCpuSeconds });
    rows.push(await grpcLoad(client, (i) => ({ model: 'knn', user_id: userIds[i % USERS] }), inFlight, seconds, 'gRPC Recommend knn (user)'));
    rows.push(await grpcLoad(client, (i) => ({ model: 'knn_onnx', user_id: userIds[i % USERS] }), inFlight, seconds, 'gRPC Recommend knn_onnx (user)'));
    rows.push(await grpcLoad(client, (i) => ({ model: 'knn', history: { item_ids: [i % 2000, (i * 7) % 2000, (i * 13) % 2000] } }), inFlight, seconds, 'gRPC Recommend knn (3-item history)'));
    rows.push(await grpcLoad(client, (i) => ({ model: 'knn_onnx', history: { item_ids: [i % 2000, (i * 7) % 2000, (i * 13) % 2000] } }), inFlight, seconds, 'gRPC Recommend knn_onnx (3-item history)'));
  } finally {
    client.close();
    await service.stop('SIGTERM');
  }

  // In-process: the service's default synthetic dataset, the same models.
  const data = generateInteractions({ users: 20_000, items: 2_000, interactions: 200_000, seed: 42 });
  const params = { popularWindowDays: 14, knnNeighbours: 50, bm25K1: 1.2, bm25B: 0.75 };
  const ps = modelSpec('popular', params);
  const popular = instantiate(ps, trainModel(ps, data).state, data, undefined) as PopularRecommender;
  const ks = modelSpec('knn', params);
  const knn = instantiate(ks, trainModel(ks, data).state, data, popular) as ItemKnnRecommender;
  const runtime = loadOnnxRuntime();
  if (runtime.ort === undefined) throw new Error(`onnxruntime-node is needed: ${runtime.reason}`);
  const onnx = await OnnxKnnRecommender.create(runtime.ort, exportKnnOnnx(knn.graph, 'bench'), data, popular);
  const users = [...data.users.ids.slice(0, quick ? 2_000 : 10_000)];
  const inProcess = [
    await callLatency('knn.recommend (JavaScript, CSR graph)', users, (u) => knn.recommend(u, 10, untracedStages)),
    await callLatency(`knn_onnx.recommend (onnxruntime ${runtime.version})`, users, (u) => onnx.recommend(u, 10)),
  ];
  await onnx.close();

  const byName = (name: string): Row | undefined => rows.find((r) => r.row === name);
  const ratios = [
    { what: 'gRPC / HTTP throughput, knn by user', value: (byName('gRPC Recommend knn (user)')?.rps ?? NaN) / (byName('HTTP GET /reco/knn/{user}')?.rps ?? NaN) },
    { what: 'gRPC / HTTP p50 latency, knn by user', value: (byName('gRPC Recommend knn (user)')?.p50Ms ?? NaN) / (byName('HTTP GET /reco/knn/{user}')?.p50Ms ?? NaN) },
    { what: 'knn_onnx / knn throughput over gRPC, by user', value: (byName('gRPC Recommend knn_onnx (user)')?.rps ?? NaN) / (byName('gRPC Recommend knn (user)')?.rps ?? NaN) },
    { what: 'knn_onnx / knn throughput over gRPC, by history', value: (byName('gRPC Recommend knn_onnx (3-item history)')?.rps ?? NaN) / (byName('gRPC Recommend knn (3-item history)')?.rps ?? NaN) },
    { what: 'knn_onnx / knn in-process p50 per call', value: (inProcess[1]?.p50Us ?? NaN) / (inProcess[0]?.p50Us ?? NaN) },
  ];

  const md: string[] = [];
  md.push(`gRPC bench: ${seconds} s per row, ${inFlight} requests in flight, server on CPU ${SERVER_CPU}, load generator on CPU ${LOADGEN_CPU}, Node ${process.version}`);
  md.push('');
  md.push('| row | requests | req/s | p50 ms | p99 ms | errors | load-gen CPU s |');
  md.push('|:--|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) md.push(`| ${r.row} | ${fmtInt(r.requests)} | ${fmtInt(r.rps)} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ${r.errors} | ${r.loadgenCpuSeconds.toFixed(1)} |`);
  md.push('');
  md.push('| in-process model call (default synthetic dataset, k=10) | calls | p50 µs | p99 µs |');
  md.push('|:--|--:|--:|--:|');
  for (const r of inProcess) md.push(`| ${r.row} | ${fmtInt(r.calls)} | ${r.p50Us.toFixed(1)} | ${r.p99Us.toFixed(1)} |`);
  md.push('');
  md.push('| ratio | value |');
  md.push('|:--|--:|');
  for (const r of ratios) md.push(`| ${r.what} | ${fmtRatio(r.value)} |`);
  const text = md.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(outDir, 'results-grpc.md'), `${text}\n`);
  writeFileSync(join(outDir, 'results-grpc.json'), `${JSON.stringify({ seconds, inFlight, node: process.version, rows, inProcess, ratios }, null, 2)}\n`);
  // A row with errors is a failed measurement, not a slow one.
  return rows.some((r) => r.errors > 0) ? 1 : 0;
}

runCli('bench:grpc', USAGE, main);
