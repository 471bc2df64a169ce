/**
 * Probe: per-call cost of `recommend()` for `popular` and `knn`, in process, no HTTP.
 *
 * Allocation per call. Run with `--expose-gc --min-semi-space-size=64 --max-semi-space-size=64`
 * (MB): a young generation that large takes tens of MB of allocation before its first
 * scavenge. After a warm-up (so the code runs optimised, as in a warm server), `gc()` empties
 * the heap's garbage, then N calls run back to back; with no GC in between, the growth of
 * `heapUsed` is exactly what those calls allocated, and / N is the bytes per call. A GC
 * observer checks the no-GC assumption; if a GC did happen, N is halved and the measurement
 * repeated. N is chosen so the calls allocate about a quarter of the semi-space.
 *
 * Time per call: M calls timed one by one with process.hrtime (≈ 50 ns of overhead each);
 * p50, p99 and mean. Users: the same Zipf sampler as the HTTP load (bench/paths.ts).
 *
 *   BENCH_CALLS=20000 DATASET=synthetic ... node --expose-gc ... dist/bench/probes/recommend.js
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config';
import { loadDataset } from '../../src/data/datasets';
import { prepareModels } from '../../src/models/registry';
import { untracedStages } from '../../src/models/stages';
import type { Recommender } from '../../src/models/types';
import { silentModelLog } from './silent-log';
import { percentileSorted } from '../stats';
import { zipfUsers } from '../paths';
import { emit } from './protocol';

export interface RecommendCost {
  model: string;
  /** Bytes allocated per call (heapUsed growth / calls with no GC in between); NaN if never GC-free. */
  bytesPerCall: number;
  allocCalls: number;
  /** Measurements repeated because a GC hit the window. */
  allocRetries: number;
  timedCalls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface RecommendProbeResult {
  users: number;
  items: number;
  interactions: number;
  k: number;
  gcExposed: boolean;
  semiSpaceBytes: number | undefined;
  models: RecommendCost[];
}

type Gc = () => void;

let gcEvents = 0;

async function settle(): Promise<void> {
  // GC performance entries are delivered asynchronously.
  await sleep(20);
}

async function measureAlloc(
  model: Recommender,
  users: readonly number[],
  k: number,
  gc: Gc,
): Promise<{ bytesPerCall: number; calls: number; retries: number }> {
  const budget = 16 * 1024 * 1024;
  let calls = 200;
  let pilot = true;
  let retries = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    gc();
    await settle();
    const events = gcEvents;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < calls; i++) model.recommend(users[i % users.length] as number, k, untracedStages);
    const after = process.memoryUsage().heapUsed;
    await settle();
    if (gcEvents !== events) {
      retries++;
      calls = Math.max(10, calls >> 1);
      continue;
    }
    const perCall = (after - before) / calls;
    if (pilot) {
      // Size the real run from the pilot: about `budget` bytes, 1 000 to 50 000 calls.
      pilot = false;
      calls = Math.max(1_000, Math.min(50_000, Math.floor(budget / Math.max(perCall, 1))));
      continue;
    }
    return { bytesPerCall: perCall, calls, retries };
  }
  return { bytesPerCall: Number.NaN, calls, retries };
}

function measureTime(model: Recommender, users: readonly number[], k: number, calls: number): { p50Us: number; p99Us: number; meanUs: number } {
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    model.recommend(users[i % users.length] as number, k, untracedStages);
    times[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  let sum = 0;
  for (let i = 0; i < calls; i++) sum += times[i] as number;
  times.sort();
  return { p50Us: percentileSorted(times, 50), p99Us: percentileSorted(times, 99), meanUs: sum / calls };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const timedCalls = Number.parseInt(process.env.BENCH_CALLS ?? '20000', 10);
  const gcFn = (globalThis as { gc?: Gc }).gc;
  new PerformanceObserver((list) => {
    gcEvents += list.getEntries().length;
  }).observe({ entryTypes: ['gc'] });

  const dataset = await loadDataset(config.dataset);
  const data = dataset.interactions;
  const { registry } = await prepareModels(config, silentModelLog, { models: ['popular', 'knn'], dataset });
  const popular = registry.get('popular') as Recommender;
  const knn = registry.get('knn') as Recommender;

  const users = zipfUsers(data.nUsers, 65_536).map((i) => data.users.ids[i] as number);
  const k = config.kRecs;
  const models: RecommendCost[] = [];
  for (const model of [popular, knn] as Recommender[]) {
    // Warm-up: let the optimising compiler settle on this call site.
    for (let i = 0; i < 5_000; i++) model.recommend(users[i % users.length] as number, k, untracedStages);
    const alloc = gcFn === undefined ? { bytesPerCall: Number.NaN, calls: 0, retries: 0 } : await measureAlloc(model, users, k, gcFn);
    const time = measureTime(model, users, k, timedCalls);
    models.push({
      model: model.name,
      bytesPerCall: alloc.bytesPerCall,
      allocCalls: alloc.calls,
      allocRetries: alloc.retries,
      timedCalls,
      ...time,
    });
  }
  const semi = /--max-semi-space-size=(\d+)/.exec(process.execArgv.join(' '));
  const result: RecommendProbeResult = {
    users: data.nUsers,
    items: data.nItems,
    interactions: data.nnz,
    k,
    gcExposed: gcFn !== undefined,
    semiSpaceBytes: semi?.[1] === undefined ? undefined : Number(semi[1]) * 1024 * 1024,
    models,
  };
  emit(result);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
