/**
 * Probe: what the service's start-up does, `prepareModels(config)`, for the dataset the
 * environment describes, with an empty artifact directory so every model is trained.
 * Reports the dataset generation/load time, each model's training time, and this process's
 * peak RSS (`process.resourceUsage().maxRSS`), which therefore covers the dataset, all
 * models and every transient buffer of training.
 *
 *   DATASET=synthetic SYNTHETIC_USERS=... ARTIFACTS_DIR=<empty> node dist/bench/probes/train.js
 */
import { loadConfig } from '../../src/config';
import { prepareModels } from '../../src/models/registry';
import { silentModelLog } from './silent-log';
import { emit } from './protocol';

export interface TrainProbeResult {
  users: number;
  items: number;
  interactions: number;
  loadMs: number;
  trainMs: Record<string, number>;
  totalTrainMs: number;
  maxRssBytes: number;
  /** RSS and heap after training, with everything still referenced. */
  rssBytes: number;
  heapUsedBytes: number;
  arrayBuffersBytes: number;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const started = performance.now();
  const prepared = await prepareModels(config, silentModelLog);
  const totalMs = performance.now() - started;
  const trainMs: Record<string, number> = {};
  for (const [name, timing] of Object.entries(prepared.timings.models)) {
    if (timing.source !== 'trained') throw new Error(`model ${name} came from an artifact: ARTIFACTS_DIR must be empty`);
    trainMs[name] = timing.ms;
  }
  const memory = process.memoryUsage();
  const result: TrainProbeResult = {
    users: prepared.dataset.users,
    items: prepared.dataset.items,
    interactions: prepared.dataset.interactions,
    loadMs: prepared.timings.datasetMs,
    trainMs,
    // Everything after the dataset: training plus building the recommenders.
    totalTrainMs: totalMs - prepared.timings.datasetMs,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    arrayBuffersBytes: memory.arrayBuffers,
  };
  emit(result);
  // The registry is used after the measurement, so nothing was freed before it.
  if (prepared.registry.names().length === 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
