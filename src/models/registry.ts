/**
 * Start-up: load the dataset, then for each model reuse the newest matching artifact or train
 * it, and hand the server a name → model lookup.
 */
import type { Config } from '../config';
import type { LoadedDataset } from '../data/datasets';
import { loadDataset } from '../data/datasets';
import type { DatasetInfo } from './artifacts';
import { loadMatchingArtifact } from './artifacts';
import type { ModelName, ModelSpec } from './catalog';
import { MODEL_NAMES, modelSpec } from './catalog';
import type { PopularRecommender } from './popular';
import type { ModelState } from './training';
import { instantiate, trainModel } from './training';
import type { ModelLookup, Recommender } from './types';

export interface ModelLog {
  info(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
}

/** A Map underneath, so names like `__proto__` or `constructor` are simply unknown. */
export class ModelRegistry implements ModelLookup {
  private readonly models = new Map<string, Recommender>();

  add(model: Recommender): void {
    this.models.set(model.name, model);
  }

  get(name: string): Recommender | undefined {
    return this.models.get(name);
  }

  names(): string[] {
    return [...this.models.keys()];
  }
}

export interface ModelTiming {
  source: 'artifact' | 'trained';
  /** Training time, or the time to read the artifact. */
  ms: number;
  /** Artifact version when loaded from disk. */
  version?: string;
}

export interface PreparedModels {
  registry: ModelRegistry;
  dataset: DatasetInfo & { source: string; skipped: number; duplicatesMerged: number };
  timings: { datasetMs: number; models: Record<string, ModelTiming>; totalMs: number };
}

export interface PrepareOptions {
  /** Defaults to every model; `popular` is always prepared since kNN falls back to it. */
  models?: readonly ModelName[];
  /** An already loaded dataset (tests, the train CLI); otherwise `config.dataset` is loaded. */
  dataset?: LoadedDataset;
}

export function datasetInfo(dataset: LoadedDataset): DatasetInfo {
  return {
    fingerprint: dataset.fingerprint,
    description: dataset.description,
    users: dataset.interactions.nUsers,
    items: dataset.interactions.nItems,
    interactions: dataset.interactions.nnz,
  };
}

export async function prepareModels(config: Config, log: ModelLog, options: PrepareOptions = {}): Promise<PreparedModels> {
  const started = performance.now();
  const dataset = options.dataset ?? (await loadDataset(config.dataset));
  const data = dataset.interactions;
  const info = datasetInfo(dataset);
  log.info(`dataset loaded: ${dataset.description}`, {
    event: { action: 'dataset-loaded' },
    recoscope: {
      dataset: { ...info, source: dataset.source, load_ms: dataset.loadMs, duplicates_merged: dataset.duplicatesMerged },
    },
  });
  if (dataset.skipped > 0) {
    log.warn(`skipped ${dataset.skipped} malformed dataset rows`, {
      event: { action: 'dataset-rows-skipped' },
      recoscope: { dataset: { skipped: dataset.skipped, samples: dataset.skippedSamples } },
    });
  }

  const requested = options.models ?? MODEL_NAMES;
  // popular first: the kNN models are built on top of it.
  const names: ModelName[] = ['popular', ...requested.filter((n) => n !== 'popular')];
  const registry = new ModelRegistry();
  const timings: Record<string, ModelTiming> = {};
  let popular: PopularRecommender | undefined;

  for (const name of names) {
    const spec = modelSpec(name, config.models);
    const { state, timing } = await obtainState(spec, dataset, config.artifactsDir, log);
    const model = instantiate(spec, state, data, popular);
    if (name === 'popular') popular = model as PopularRecommender;
    if (name !== 'popular' || requested.includes('popular')) registry.add(model);
    timings[name] = timing;
  }

  const totalMs = Math.round(performance.now() - started);
  const trained = Object.entries(timings).filter(([, t]) => t.source === 'trained');
  log.info(trained.length > 0 ? 'models trained' : 'models loaded from artifacts', {
    event: { action: 'models-ready' },
    recoscope: {
      models: timings,
      train_ms: trained.reduce((sum, [, t]) => sum + t.ms, 0),
      total_ms: totalMs,
      dataset_fingerprint: dataset.fingerprint,
    },
  });
  return {
    registry,
    dataset: { ...info, source: dataset.source, skipped: dataset.skipped, duplicatesMerged: dataset.duplicatesMerged },
    timings: { datasetMs: dataset.loadMs, models: timings, totalMs },
  };
}

async function obtainState(
  spec: ModelSpec,
  dataset: LoadedDataset,
  artifactsDir: string,
  log: ModelLog,
): Promise<{ state: ModelState; timing: ModelTiming }> {
  const started = performance.now();
  const found = await loadMatchingArtifact(artifactsDir, spec, dataset.fingerprint, dataset.interactions.items.ids);
  for (const { dir, reason } of found.rejected) {
    log.warn(`ignoring unusable artifact ${dir}: ${reason}`, { event: { action: 'artifact-rejected' }, recoscope: { model: spec.name } });
  }
  if (found.loaded !== undefined) {
    const ms = Math.round(performance.now() - started);
    const { version } = found.loaded.metadata;
    log.info(`model ${spec.name} loaded from artifact ${version}`, {
      event: { action: 'model-loaded' },
      recoscope: { model: spec.name, artifact: found.loaded.dir, version, load_ms: ms },
    });
    return { state: found.loaded.state, timing: { source: 'artifact', ms, version } };
  }
  const trained = trainModel(spec, dataset.interactions);
  log.info(`model ${spec.name} trained in ${trained.trainMs} ms (no matching artifact in ${artifactsDir})`, {
    event: { action: 'model-trained' },
    recoscope: { model: spec.name, params: spec.params, train_ms: trained.trainMs },
  });
  return { state: trained.state, timing: { source: 'trained', ms: trained.trainMs } };
}
