/**
 * npm run train -- [--dataset <path|synthetic>] [--models a,b] [--out artifacts]
 *
 * Trains the models on the configured dataset (env settings, overridden by the flags) and
 * writes one artifact version per model; the server reuses them at start-up when its params
 * and dataset fingerprint match.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../config';
import { ConfigError, loadConfig } from '../config';
import { loadDataset } from '../data/datasets';
import { saveArtifact } from '../models/artifacts';
import type { ModelName } from '../models/catalog';
import { MODEL_NAMES, modelSpec, parseModelList } from '../models/catalog';
import { evaluationFor } from '../models/offline-quality';
import { datasetInfo } from '../models/registry';
import { trainModel } from '../models/training';
import { parseCommandLine, runCli, UsageError } from './usage';

const USAGE = `usage: npm run train -- [--dataset <path|synthetic>] [--models ${MODEL_NAMES.join(',')}] [--out artifacts] [--evaluation runs/<id>.json]`;

function parse(argv: string[]): { config: Config; models: ModelName[]; evaluation: string | undefined } {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      dataset: { type: 'string' },
      models: { type: 'string' },
      out: { type: 'string' },
      evaluation: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) throw new UsageError('');
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    // A bad environment variable: the same exit 2 and usage as a bad flag.
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (values.dataset !== undefined) config.dataset.source = values.dataset;
  if (values.out !== undefined) config.artifactsDir = values.out;
  let models: ModelName[] = [...MODEL_NAMES];
  if (values.models !== undefined) {
    try {
      models = parseModelList(values.models);
    } catch (err) {
      throw new UsageError(`--models: ${(err as Error).message}`);
    }
  }
  return { config, models, evaluation: values.evaluation };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const parsed = parse(process.argv.slice(2));
  const { config, models } = parsed;
  // An `npm run evaluate` run record whose metrics the matching artifacts carry.
  const evaluationRecord: unknown = parsed.evaluation === undefined ? undefined : JSON.parse(await readFile(parsed.evaluation, 'utf8'));
  const dataset = await loadDataset(config.dataset);
  const data = dataset.interactions;
  const info = datasetInfo(dataset);
  process.stdout.write(
    `dataset: ${dataset.description}\n  ${data.nUsers} users, ${data.nItems} items, ${data.nnz} interactions, ` +
      `loaded in ${dataset.loadMs} ms, fingerprint ${dataset.fingerprint.slice(0, 12)}` +
      (dataset.skipped > 0 ? `, ${dataset.skipped} malformed rows skipped` : '') +
      (dataset.duplicatesMerged > 0 ? `, ${dataset.duplicatesMerged} duplicates merged` : '') +
      '\n',
  );
  for (const sample of dataset.skippedSamples) process.stdout.write(`  skipped ${sample}\n`);

  for (const name of models) {
    const spec = modelSpec(name, config.models);
    const trained = trainModel(spec, data);
    const found = evaluationRecord === undefined ? undefined : evaluationFor(evaluationRecord, spec, dataset.fingerprint);
    const evaluation = found === undefined || 'missing' in found ? undefined : found;
    const saved = await saveArtifact(config.artifactsDir, spec, trained.state, data.items.ids, info, trained.trainMs, new Date(), evaluation);
    process.stdout.write(
      `${name.padEnd(11)} trained in ${String(trained.trainMs).padStart(6)} ms, ${mb(saved.metadata.sizeBytes).padStart(9)} → ${saved.dir}\n`,
    );
    if (found !== undefined) {
      process.stdout.write(
        'missing' in found
          ? `            no offline metrics attached: ${found.missing}\n`
          : `            offline metrics of evaluation ${found.evaluationId} attached (MAP@${found.k} ${found.metrics.map?.toFixed(4) ?? '?'})\n`,
      );
    }
  }
  process.stdout.write(`peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}\n`);
}

runCli('train', USAGE, main);
