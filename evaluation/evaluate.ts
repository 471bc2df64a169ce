/**
 * One offline evaluation: split the dataset in time, train every requested model on the train
 * part with the service's own code (src/models/training.ts, the catalog's params, popular as
 * kNN's fallback, exactly as the registry builds them), ask each model for k items for every
 * warm test user through the same `recommend()` the HTTP route calls, and score the lists.
 * With `onnx`, the BM25 graph trained for `knn` is also exported to ONNX and scored through
 * onnxruntime (`knn_onnx`, the gRPC server's model), its `recommend()` awaited per user.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../src/config';
import type { LoadedDataset } from '../src/data/datasets';
import { fingerprintInteractions } from '../src/data/fingerprint';
import type { Interactions } from '../src/data/interactions';
import { saveArtifact } from '../src/models/artifacts';
import type { ModelName, ModelSpec } from '../src/models/catalog';
import { modelSpec } from '../src/models/catalog';
import { exportKnnOnnx, loadOnnxRuntime, ONNX_MODEL_NAME, OnnxKnnRecommender } from '../src/models/onnx-knn';
import { PACKAGE } from '../src/paths';
import { rowHasItem } from '../src/models/history';
import type { PopularRecommender } from '../src/models/popular';
import { untracedStages } from '../src/models/stages';
import { instantiate, trainModel, type ModelState } from '../src/models/training';
import type { Recommendation } from '../src/models/types';
import type { Metrics, Popularity } from './metrics';
import { MetricsAccumulator, percentile } from './metrics';
import type { PartSizes, Split, SplitSpec } from './split';
import { temporalSplit } from './split';

/** The catalogue's models, and the ONNX export of `knn` (not a catalogue model: asynchronous). */
export type EvaluatedModel = ModelName | typeof ONNX_MODEL_NAME;

export interface ModelResult {
  model: EvaluatedModel;
  kind: ModelSpec['kind'] | 'onnx';
  params: ModelSpec['params'];
  metrics: Metrics;
  /** Warm test users scored. */
  users: number;
  trainMs: number;
  /** Bytes of model.bin as `npm run train` would write it (knn_onnx: of the .onnx file). */
  artifactBytes: number;
  /** recommend() wall time per call, microseconds. */
  recommendP50Us: number;
  recommendP99Us: number;
  /** All recommend() calls of this model, milliseconds. */
  recommendTotalMs: number;
}

export interface EvaluationResult {
  k: number;
  split: { spec: SplitSpec; cutoff: string };
  dataset: { source: string; description: string; fingerprint: string } & PartSizes;
  /** Fingerprint of the train part: the `dataset.fingerprint` of the artifacts trained here. */
  trainFingerprint: string;
  sizes: Split['sizes'];
  models: ModelResult[];
  timings: { loadMs: number; splitMs: number; totalMs: number };
}

export interface EvaluateOptions {
  config: Config;
  dataset: LoadedDataset;
  models: readonly ModelName[];
  /** Also score knn_onnx (needs onnxruntime-node). */
  onnx?: boolean;
  k: number;
  split: SplitSpec;
  /** Write every recommendation as `user_id,item_id,rank,model` here. */
  dumpRecos?: string;
  progress?: (phase: string, done: number, total: number) => void;
}

function popularityOf(train: Interactions): Popularity {
  const users = new Int32Array(train.nItems);
  // One row per (user, item), so rows per item = distinct users per item.
  for (let p = 0; p < train.nnz; p++) users[train.itemIdx[p] as number] = (users[train.itemIdx[p] as number] as number) + 1;
  return {
    nUsers: train.nUsers,
    usersOf: (itemId) => {
      const i = train.items.indexOf(itemId);
      return i < 0 ? 0 : (users[i] as number);
    },
  };
}

async function writeChunk(stream: WriteStream, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  const started = performance.now();
  const { config, dataset, k } = options;
  const progress = options.progress ?? (() => undefined);
  const splitStarted = performance.now();
  const split = temporalSplit(dataset.interactions, options.split);
  const splitMs = Math.round(performance.now() - splitStarted);
  const { train, warm } = split;
  if (train.nnz === 0) throw new Error('the train part is empty: make the test part smaller');
  if (warm.users.length === 0) throw new Error('no test user has train interactions: make the test part larger');
  const trainInfo = {
    fingerprint: fingerprintInteractions(train),
    description: `${dataset.description}, train part before ${new Date(split.cutoff * 1000).toISOString()}`,
    users: train.nUsers,
    items: train.nItems,
    interactions: train.nnz,
  };
  const popularity = popularityOf(train);
  const artifactsDir = await mkdtemp(join(tmpdir(), 'recoscope-eval-artifacts-'));
  const dump = options.dumpRecos === undefined ? undefined : createWriteStream(options.dumpRecos);
  if (dump !== undefined) await writeChunk(dump, 'user_id,item_id,rank,model\n');

  const results: ModelResult[] = [];
  let popular: PopularRecommender | undefined;
  let knnState: ModelState | undefined;
  let knnTrainMs = 0;
  const wanted: readonly ModelName[] = options.onnx === true && !options.models.includes('knn') ? [...options.models, 'knn'] : options.models;
  // popular first: kNN models fall back to it. It is scored only when asked for; knn is
  // trained when knn_onnx needs its graph.
  const order: ModelName[] = ['popular', ...wanted.filter((m) => m !== 'popular')];
  const scorer = new Scorer({ k, train, warm, popularity, dump, progress });
  try {
    for (const name of order) {
      const spec = modelSpec(name, config.models);
      progress(`train ${name}`, 0, 1);
      const trained = trainModel(spec, train);
      const saved = await saveArtifact(artifactsDir, spec, trained.state, train.items.ids, trainInfo, trained.trainMs);
      const model = instantiate(spec, trained.state, train, popular);
      if (name === 'popular') popular = model as PopularRecommender;
      if (name === 'knn') {
        knnState = trained.state;
        knnTrainMs = trained.trainMs;
      }
      if (!options.models.includes(name)) continue;
      const scored = await scorer.score(name, (userId) => model.recommend(userId, k, untracedStages));
      results.push({ model: name, kind: spec.kind, params: spec.params, trainMs: trained.trainMs, artifactBytes: saved.metadata.sizeBytes, ...scored });
    }
    if (options.onnx === true) {
      if (knnState?.kind !== 'knn' || popular === undefined) throw new Error('knn_onnx needs the knn graph');
      const runtime = loadOnnxRuntime();
      if (runtime.ort === undefined) throw new Error(`knn_onnx needs onnxruntime-node (an optional dependency): ${runtime.reason}`);
      progress(`train ${ONNX_MODEL_NAME}`, 0, 1);
      const exportStarted = performance.now();
      const bytes = exportKnnOnnx(knnState.graph, PACKAGE.version);
      const onnx = await OnnxKnnRecommender.create(runtime.ort, bytes, train, popular);
      // The graph is knn's: its training time is knn's plus the export and session creation.
      const exportMs = Math.round(performance.now() - exportStarted);
      try {
        const scored = await scorer.score(ONNX_MODEL_NAME, (userId) => onnx.recommend(userId, k));
        const spec = modelSpec('knn', config.models);
        results.push({ model: ONNX_MODEL_NAME, kind: 'onnx', params: spec.params, trainMs: knnTrainMs + exportMs, artifactBytes: bytes.byteLength, ...scored });
      } finally {
        await onnx.close();
      }
    }
  } finally {
    if (dump !== undefined) await new Promise<void>((resolve, reject) => dump.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rm(artifactsDir, { recursive: true, force: true });
  }
  const data = dataset.interactions;
  return {
    k,
    split: { spec: options.split, cutoff: Number.isFinite(split.cutoff) ? new Date(split.cutoff * 1000).toISOString() : 'none' },
    dataset: {
      source: dataset.source,
      description: dataset.description,
      fingerprint: dataset.fingerprint,
      users: data.nUsers,
      items: data.nItems,
      interactions: data.nnz,
    },
    trainFingerprint: trainInfo.fingerprint,
    sizes: split.sizes,
    models: results,
    timings: { loadMs: dataset.loadMs, splitMs, totalMs: Math.round(performance.now() - started + dataset.loadMs) },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface ScorerParts {
  k: number;
  train: Interactions;
  warm: Split['warm'];
  popularity: Popularity;
  dump: WriteStream | undefined;
  progress: (phase: string, done: number, total: number) => void;
}

type Scored = Pick<ModelResult, 'metrics' | 'users' | 'recommendP50Us' | 'recommendP99Us' | 'recommendTotalMs'>;

/** Asks one model for every warm test user's list, checks it, scores it and dumps it. */
class Scorer {
  constructor(private readonly parts: ScorerParts) {}

  async score(name: EvaluatedModel, recommend: (userId: number) => Recommendation | Promise<Recommendation>): Promise<Scored> {
    const { k, train, warm, popularity, dump, progress } = this.parts;
    const acc = new MetricsAccumulator(k, popularity);
    const nUsers = warm.users.length;
    // Warm-up, untimed: the first calls pay for JIT compilation and scratch buffers.
    for (let w = 0; w < Math.min(nUsers, 200); w++) await recommend(warm.users[w] as number);
    const micros = new Float64Array(nUsers);
    let lines: string[] = [];
    let totalMs = 0;
    for (let w = 0; w < nUsers; w++) {
      const userId = warm.users[w] as number;
      const t0 = performance.now();
      const answer = recommend(userId);
      // The synchronous models are timed without a microtask in between.
      const rec = answer instanceof Promise ? await answer : answer;
      const ms = performance.now() - t0;
      totalMs += ms;
      micros[w] = ms * 1000;
      const u = train.users.indexOf(userId);
      const rowStart = train.userPtr[u] as number;
      const rowEnd = train.userPtr[u + 1] as number;
      for (const item of rec.items) {
        // The service's contract, checked on every list rather than trusted.
        if (rowHasItem(train.itemIdx, rowStart, rowEnd, train.items.indexOf(item))) {
          throw new Error(`${name} recommended item ${item} that user ${userId} already has in train`);
        }
      }
      const relevant = new Set<number>();
      for (let p = warm.ptr[w] as number; p < (warm.ptr[w + 1] as number); p++) relevant.add(warm.items[p] as number);
      acc.add(rec.items, relevant, rec.coldStart ? rec.items.length : rec.fallback);
      if (dump !== undefined) {
        for (let r = 0; r < rec.items.length && r < k; r++) lines.push(`${userId},${rec.items[r]},${r + 1},${name}\n`);
        if (lines.length >= 8192) {
          await writeChunk(dump, lines.join(''));
          lines = [];
        }
      }
      if ((w & 1023) === 0) progress(`score ${name}`, w, nUsers);
    }
    if (dump !== undefined && lines.length > 0) await writeChunk(dump, lines.join(''));
    progress(`score ${name}`, nUsers, nUsers);
    micros.sort();
    return {
      metrics: acc.result(),
      users: acc.userCount,
      recommendP50Us: round(percentile(micros, 50), 2),
      recommendP99Us: round(percentile(micros, 99), 2),
      recommendTotalMs: Math.round(totalMs),
    };
  }
}
