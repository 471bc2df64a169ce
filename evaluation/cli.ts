/**
 * npm run evaluate -- [--dataset <csv|synthetic>] [--models popular,knn,...] [--k 10]
 *                     [--split time] [--test-days 7 | --test-fraction 0.1]
 *                     [--out run.json] [--dump-recos recos.csv] [--runs-dir runs]
 * npm run evaluate -- --compare <runA> <runB>
 *
 * Offline quality of the service's models (see evaluation/README.md). Every evaluation is
 * recorded under runs/ and, when configured, in MLflow (MLFLOW_TRACKING_URI) and in
 * Elasticsearch (ELASTICSEARCH_URL, index reco-experiments).
 */
import { writeFile } from 'node:fs/promises';
import { describeElasticsearchError, createElasticsearchClient, elasticsearchSettings } from '../elk/client';
import { EXPERIMENTS_INDEX } from '../src/contracts';
import { loadDataset } from '../src/data/datasets';
import { MODEL_NAMES } from '../src/models/catalog';
import type { ModelName } from '../src/models/catalog';
import { loadOnnxRuntime, ONNX_MODEL_NAME } from '../src/models/onnx-knn';
import { configWithDataset, modelsOption } from '../src/cli/dataset-options';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { indexRuns } from './elasticsearch';
import { evaluate } from './evaluate';
import { MlflowClient, mlflowSettings } from './mlflow';
import { compareRuns, flattenRun, loadRunRecord, newRecord, RUNS_DIR, saveRunRecord } from './runs';
import { describeSplit, splitSpecOption } from './split';
import { metricsTable, sizesLines } from './table';
import { progressBar } from './progress';

const USAGE = `usage: npm run evaluate -- [--dataset <csv|synthetic>] [--models ${[...MODEL_NAMES, ONNX_MODEL_NAME].join(',')}] [--k 10]
                           [--split time] [--test-days 7 | --test-fraction 0.1]
                           [--out run.json] [--dump-recos recos.csv] [--runs-dir runs]
       npm run evaluate -- --compare <runA> <runB>
  --dataset        a MovieLens or Kion CSV, or synthetic (default: DATASET)
  --models         models to score (default: all; ${ONNX_MODEL_NAME} when onnxruntime-node is installed)
  --k              list length the metrics are computed at (default 10)
  --test-days      test part = the last N days of the data (default 7)
  --test-fraction  test part = the newest fraction of interactions instead
  --out            also write the run record (JSON) here
  --dump-recos     write every recommendation as user_id,item_id,rank,model CSV
  --runs-dir       where run records go (default runs/)
  --compare A B    print the metric deltas of two recorded runs (ids under runs/ or paths)
Tracking: MLFLOW_TRACKING_URI (+ MLFLOW_EXPERIMENT_NAME), ELASTICSEARCH_URL (index ${EXPERIMENTS_INDEX}).`;

/** `--models`: the catalogue's models through modelsOption, plus knn_onnx (see evaluate.ts). */
function evaluatedModels(value: string | undefined): { models: ModelName[]; onnx: boolean } {
  if (value === undefined) {
    const runtime = loadOnnxRuntime();
    if (runtime.ort === undefined) process.stderr.write(`evaluate: ${ONNX_MODEL_NAME} left out: onnxruntime-node (optional dependency) not loadable: ${runtime.reason}\n`);
    return { models: modelsOption(undefined), onnx: runtime.ort !== undefined };
  }
  const names = value.split(',').map((s) => s.trim());
  const onnx = names.includes(ONNX_MODEL_NAME);
  const rest = names.filter((n) => n !== ONNX_MODEL_NAME && n.length > 0);
  if (onnx && rest.length === 0) return { models: [], onnx };
  return { models: modelsOption(rest.join(',')), onnx };
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { values, positionals } = parseCommandLine({
    args: argv,
    options: {
      dataset: { type: 'string' },
      models: { type: 'string' },
      k: { type: 'string' },
      split: { type: 'string' },
      'test-days': { type: 'string' },
      'test-fraction': { type: 'string' },
      out: { type: 'string' },
      'dump-recos': { type: 'string' },
      'runs-dir': { type: 'string' },
      compare: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const runsDir = values['runs-dir'] ?? RUNS_DIR;
  if (values.compare === true) {
    if (positionals.length !== 2) throw new UsageError('--compare takes two runs');
    const [a, b] = await Promise.all(positionals.map((ref) => loadRunRecord(ref, runsDir)));
    process.stdout.write(`${compareRuns(a!, b!)}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (values.split !== undefined && values.split !== 'time') throw new UsageError(`--split must be time, got ${JSON.stringify(values.split)}`);
  const split = splitSpecOption(values['test-days'], values['test-fraction']);
  const k = values.k === undefined ? 10 : positiveInt('k', values.k);
  const { models, onnx } = evaluatedModels(values.models);
  const config = configWithDataset(values.dataset);
  // Read before the (long) run so a bad URL fails at once.
  let mlflow;
  try {
    mlflow = mlflowSettings();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const startedAt = new Date();
  const bar = progressBar(process.stderr);
  bar.update('load dataset', 0, 1);
  const dataset = await loadDataset(config.dataset);
  const result = await evaluate({ config, dataset, models, onnx, k, split, dumpRecos: values['dump-recos'], progress: bar.update });
  bar.done();

  const record = newRecord(result, startedAt, argv);
  const w = (line = ''): boolean => process.stdout.write(`${line}\n`);
  w(`dataset: ${result.dataset.description} (fingerprint ${result.dataset.fingerprint.slice(0, 12)})`);
  w(`split: ${describeSplit(split)}, test from ${result.split.cutoff}; k=${k}`);
  for (const line of sizesLines(result)) w(line);
  const cold = result.sizes.coldTest;
  w(`cold test users: ${cold.users} (${cold.interactions} test interactions), not scored: unknown to every model, they get popular`);
  w(`scored: ${result.sizes.warmTest.users} warm test users; train-seen items never recommended (checked on every list)`);
  w();
  w(metricsTable(result));
  w();
  w(`evaluation ${record.id}: ${(result.timings.totalMs / 1000).toFixed(1)} s (load ${result.timings.loadMs} ms), peak RSS ${(record.peakRssBytes / 1e6).toFixed(0)} MB, git ${record.git.sha.slice(0, 10)}${record.git.dirty ? ' (dirty)' : ''}`);
  if (values['dump-recos'] !== undefined) w(`recommendations: ${displayPath(values['dump-recos'])}`);

  let failed = false;
  if (mlflow !== undefined) {
    try {
      const client = new MlflowClient(mlflow.url);
      const experimentId = await client.experimentId(mlflow.experimentName);
      const runIds: Record<string, string> = {};
      for (const m of result.models) {
        runIds[m.model] = await client.logRun(experimentId, flattenRun(record, m), startedAt.getTime(), Date.parse(record.finishedAt));
      }
      record.tracking.mlflow = { url: mlflow.url, experimentId, runIds };
      w(`mlflow: ${result.models.length} runs in experiment "${mlflow.experimentName}" → ${mlflow.url}/#/experiments/${experimentId}`);
    } catch (err) {
      failed = true;
      process.stderr.write(`evaluate: mlflow: ${(err as Error).message}\n`);
    }
  }
  if (process.env.ELASTICSEARCH_URL?.trim()) {
    const settings = elasticsearchSettings();
    const client = createElasticsearchClient(settings);
    try {
      const ids = await indexRuns(client, record);
      record.tracking.elasticsearch = { url: settings.url, index: EXPERIMENTS_INDEX };
      w(`elasticsearch: ${ids.length} documents in ${EXPERIMENTS_INDEX} at ${settings.url}`);
    } catch (err) {
      failed = true;
      process.stderr.write(`evaluate: elasticsearch: ${describeElasticsearchError(err, settings.url)}\n`);
    } finally {
      await client.close();
    }
  }
  const path = await saveRunRecord(record, runsDir);
  w(`run record: ${displayPath(path)}  (compare: npm run evaluate -- --compare ${record.id} <other>)`);
  if (values.out !== undefined) {
    await writeFile(values.out, `${JSON.stringify(record, null, 2)}\n`);
    w(`run record copy: ${displayPath(values.out)}`);
  }
  return failed ? 1 : 0;
}

runCli('evaluate', USAGE, main);
