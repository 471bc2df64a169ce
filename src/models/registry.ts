/**
 * Start-up: load the dataset, then serve each model's registry production (src/models/
 * model-registry.ts). A model with no production yet (a fresh machine) does what start-up
 * always did, reuse the newest matching artifact or train and save one, and that version
 * becomes its production; so does one whose production cannot be served (another dataset, a
 * corrupt file), except that its production is left as it is (warned) for the operator.
 */
import type { Config } from '../config';
import type { LoadedDataset } from '../data/datasets';
import { loadDataset } from '../data/datasets';
import type { ArtifactMetadata, DatasetInfo } from './artifacts';
import { loadMatchingArtifact, saveArtifact } from './artifacts';
import type { ModelName, ModelSpec } from './catalog';
import { MODEL_NAMES, modelSpec } from './catalog';
import { openModelRegistry } from './model-registry';
import { ServedModels } from './serving';
import type { ModelState } from './training';
import { trainModel } from './training';
import type { ModelLookup, Recommender } from './types';

export interface ModelLog {
  info(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
}

/** A Map underneath, so names like `__proto__` or `constructor` are simply unknown. */
/** A fixed name → model lookup (tests, benchmarks); the service's is ServedModels. */
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
  /** The registry version served. */
  version?: string;
}

export interface PreparedModels {
  registry: ServedModels;
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
  const store = openModelRegistry(config.artifactsDir);
  const defaults = new Map(Object.entries(config.modelRefs));
  const served = new ServedModels({ store, dataset: { fingerprint: dataset.fingerprint, interactions: data }, models: requested, defaults, log });
  const timings: Record<string, ModelTiming> = {};

  /**
   * Today's start-up for one model: the newest matching artifact, or train and save one; the
   * version, or undefined when it could not be saved (then it is served outside the registry).
   */
  const obtain = async (name: ModelName): Promise<string | undefined> => {
    const spec = modelSpec(name, config.models);
    const { state, timing, metadata } = await obtainState(spec, dataset, config.artifactsDir, log);
    timings[name] = timing;
    if (metadata === undefined) {
      timing.version = served.seedUnsaved(spec, state);
      return undefined;
    }
    served.seed(metadata, state);
    return metadata.version;
  };

  // A fresh machine: no production yet, so the version start-up obtains becomes it.
  for (const name of names) {
    if (defaults.has(name) || (await store.state(name)).aliases.production !== undefined) continue;
    const version = await obtain(name);
    if (version !== undefined && (await store.register(name, version))) {
      log.info(`model ${name}: version ${version} registered as ${name}@production`, {
        event: { action: 'model-registered' },
        recoscope: { model: { name, version, alias: 'production' } },
      });
    }
  }
  const loadStarted = performance.now();
  let report = await served.reload();
  const loadMs = Math.round(performance.now() - loadStarted);
  // Whatever the registry could not serve is served as start-up always did, its alias left alone.
  let fellBack = false;
  for (const name of names) {
    const version = served.servedVersions().get(name) ?? report.serving[name];
    if (version !== undefined) {
      timings[name] ??= { source: 'artifact', ms: loadMs, version };
      timings[name].version = version;
      continue;
    }
    const pinned = defaults.get(name);
    if (pinned !== undefined) {
      const why = report.refused.find((r) => r.ref === name)?.reason ?? 'not loaded';
      throw new Error(`MODEL_REFS names ${pinned} for ${name}, which cannot be served: ${why}`);
    }
    const obtained = await obtain(name);
    if (obtained !== undefined) served.setDefault(name, `${name}@${obtained}`);
    fellBack = true;
  }
  if (fellBack) report = await served.reload();

  const totalMs = Math.round(performance.now() - started);
  const trained = Object.entries(timings).filter(([, t]) => t.source === 'trained');
  log.info(trained.length > 0 ? 'models trained' : 'models loaded from artifacts', {
    event: { action: 'models-ready' },
    recoscope: {
      models: timings,
      train_ms: trained.reduce((sum, [, t]) => sum + t.ms, 0),
      total_ms: totalMs,
      dataset_fingerprint: dataset.fingerprint,
      serving: report.serving,
    },
  });
  return {
    registry: served,
    dataset: { ...info, source: dataset.source, skipped: dataset.skipped, duplicatesMerged: dataset.duplicatesMerged },
    timings: { datasetMs: dataset.loadMs, models: timings, totalMs },
  };
}

async function obtainState(
  spec: ModelSpec,
  dataset: LoadedDataset,
  artifactsDir: string,
  log: ModelLog,
): Promise<{ state: ModelState; timing: ModelTiming; metadata: ArtifactMetadata | undefined }> {
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
    return { state: found.loaded.state, timing: { source: 'artifact', ms, version }, metadata: found.loaded.metadata };
  }
  const trained = trainModel(spec, dataset.interactions);
  log.info(`model ${spec.name} trained in ${trained.trainMs} ms (no matching artifact in ${artifactsDir})`, {
    event: { action: 'model-trained' },
    recoscope: { model: spec.name, params: spec.params, train_ms: trained.trainMs },
  });
  const timing: ModelTiming = { source: 'trained', ms: trained.trainMs };
  // Saved, so the version start-up trained is a registry version like any other.
  try {
    const saved = await saveArtifact(artifactsDir, spec, trained.state, dataset.interactions.items.ids, datasetInfo(dataset), trained.trainMs);
    return { state: trained.state, timing: { ...timing, version: saved.metadata.version }, metadata: saved.metadata };
  } catch (error) {
    log.warn(`model ${spec.name}: cannot save the trained version in ${artifactsDir}: ${(error as Error).message}`, {
      event: { action: 'artifact-save-failed' },
      recoscope: { model: spec.name },
    });
    return { state: trained.state, timing, metadata: undefined };
  }
}
