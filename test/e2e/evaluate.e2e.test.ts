/**
 * `npm run evaluate` (the compiled CLI) on MovieLens-small against a real MLflow tracking
 * server (stack/mlflow.sh: mlflow from PyPI, sqlite) and the real local Elasticsearch: the
 * runs are read back through MLflow's REST search API and Elasticsearch's search, and their
 * metrics must be the printed table's (same cells once formatted) and the run record's (same
 * numbers). The --dump-recos CSV is then rescored by rectools itself
 * (evaluation/check-recos.sh), an implementation that shares no code with ours.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EXPERIMENTS_INDEX } from '../../src/contracts';
import { compiled, PROJECT_ROOT } from '../../src/paths';
import type { RunRecord } from '../../evaluation/runs';
import { metricKey } from '../../evaluation/runs';
import { METRIC_KEYS, METRIC_LABELS } from '../../evaluation/metrics';
import { formatValue, parseTable } from '../../evaluation/table';
import { createStack, freePort, orphans, removeStack, stackDown, stackUp, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const CLI = compiled('evaluation/cli');
const RATINGS = process.env.MOVIELENS_RATINGS ?? resolve(PROJECT_ROOT, '..', 'shared', 'data', 'movielens-small', 'ratings.csv');

interface SearchedRun {
  info: { run_id: string; run_name: string; status: string };
  data: { metrics?: { key: string; value: number }[]; params?: { key: string; value: string }[]; tags?: { key: string; value: string }[] };
}

async function mlflow<T>(url: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/api/2.0/mlflow/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `MLflow ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('npm run evaluate → MLflow and Elasticsearch (real servers)', () => {
  let stack: TestStack;
  let mlflowUrl: string;
  let work: string;
  const experiment = `recoscope-e2e-${process.pid}`;
  let stdout = '';
  let record: RunRecord;

  before(async () => {
    assert.ok(existsSync(RATINGS), `MovieLens ratings expected at ${RATINGS} (../shared/data/movielens-small, or set MOVIELENS_RATINGS)`);
    const port = await freePort();
    stack = await createStack('evaluate', { MLFLOW_PORT: String(port) });
    mlflowUrl = `http://127.0.0.1:${port}`;
    work = mkdtempSync(join(tmpdir(), 'recoscope-evaluate-'));
    await stackUp(['es', 'mlflow'], stack.env);
  });

  after(async () => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
    if (stack === undefined) return;
    await stackDown(['es', 'mlflow'], stack.env);
    assert.deepEqual(orphans(stack), []);
    removeStack(stack);
  });

  it('runs a real MLflow tracking server', async (t) => {
    const response = await fetch(`${mlflowUrl}/version`);
    assert.equal(response.status, 200);
    const version = (await response.text()).trim();
    assert.match(version, /^\d+\.\d+\.\d+/);
    t.diagnostic(`MLflow server version ${version}`);
    process.stdout.write(`# MLflow server version ${version}\n`);
  });

  it('evaluates MovieLens-small and prints the table, the sizes and the cold users', async () => {
    const { stdout: out } = await execFileAsync(
      process.execPath,
      [
        CLI,
        ...['--dataset', RATINGS, '--test-fraction', '0.1', '--k', '10'],
        ...['--runs-dir', join(work, 'runs'), '--out', join(work, 'run.json'), '--dump-recos', join(work, 'recos.csv')],
      ],
      {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? '', MLFLOW_TRACKING_URI: mlflowUrl, MLFLOW_EXPERIMENT_NAME: experiment, ELASTICSEARCH_URL: stack.esUrl },
        timeout: 300_000,
      },
    );
    stdout = out;
    record = JSON.parse(readFileSync(join(work, 'run.json'), 'utf8')) as RunRecord;
    assert.deepEqual(
      record.result.models.map((m) => m.model),
      ['popular', 'knn', 'knn_cosine', 'knn_tfidf', 'knn_onnx'],
    );
    assert.match(stdout, /cold test users: \d+ \(\d+ test interactions\)/);
    assert.ok(record.result.sizes.coldTest.users > 0, 'MovieLens-small has test-only users at 0.1');
    assert.match(stdout, new RegExp(`mlflow: 5 runs in experiment "${experiment}"`));
    assert.match(stdout, new RegExp(`elasticsearch: 5 documents in ${EXPERIMENTS_INDEX}`));
    const table = parseTable(stdout);
    assert.deepEqual([...table.keys()], ['popular', 'knn', 'knn_cosine', 'knn_tfidf', 'knn_onnx']);
    // knn_onnx is knn's graph scored by onnxruntime in float32: the same lists but for
    // near-ties, so every metric within a hair of knn's.
    const knn = record.result.models.find((m) => m.model === 'knn');
    const onnx = record.result.models.find((m) => m.model === 'knn_onnx');
    for (const key of METRIC_KEYS) assert.ok(Math.abs((onnx?.metrics[key] ?? NaN) - (knn?.metrics[key] ?? NaN)) <= 0.01 * Math.max(1, Math.abs(knn?.metrics[key] ?? 0)), `knn_onnx ${key}`);
    // Something was actually learned: the best model hits for some users.
    assert.ok(Math.max(...record.result.models.map((m) => m.metrics.hitRate)) > 0);
    assert.ok(existsSync(join(work, 'runs', `${record.id}.json`)));
  });

  it('reads the runs back through MLflow’s REST search API with the printed metrics', async () => {
    assert.ok(record, 'the evaluation ran');
    const { experiment: exp } = await mlflow<{ experiment: { experiment_id: string } }>(
      mlflowUrl,
      `experiments/get-by-name?experiment_name=${encodeURIComponent(experiment)}`,
    );
    const { runs } = await mlflow<{ runs?: SearchedRun[] }>(mlflowUrl, 'runs/search', {
      experiment_ids: [exp.experiment_id],
      filter: `tags.\`recoscope.evaluation_id\` = '${record.id}'`,
      max_results: 100,
    });
    assert.equal(runs?.length, 5);
    const table = parseTable(stdout);
    const k = record.result.k;
    for (const run of runs ?? []) {
      assert.equal(run.info.status, 'FINISHED');
      const tags = new Map((run.data.tags ?? []).map((x) => [x.key, x.value]));
      const params = new Map((run.data.params ?? []).map((x) => [x.key, x.value]));
      const metrics = new Map((run.data.metrics ?? []).map((x) => [x.key, x.value]));
      const model = tags.get('recoscope.model') ?? '';
      const ours = record.result.models.find((m) => m.model === model);
      assert.ok(ours, `MLflow run for unknown model ${model}`);
      assert.equal(run.info.run_name, `${record.id}-${model}`);
      assert.equal(params.get('dataset_fingerprint'), record.result.dataset.fingerprint);
      assert.equal(params.get('git_sha'), record.git.sha);
      assert.equal(tags.get('mlflow.source.git.commit'), record.git.sha);
      for (const key of METRIC_KEYS) {
        const value = metrics.get(metricKey(key, k));
        assert.equal(value, ours.metrics[key], `${model} ${key}: MLflow ${value} vs run record ${ours.metrics[key]}`);
        const column = key === 'popularFill' ? METRIC_LABELS[key] : `${METRIC_LABELS[key]}@${k}`;
        assert.equal(formatValue(key, value), table.get(model)?.get(column), `${model} ${column}`);
      }
      assert.equal(metrics.get('train_ms'), Number(table.get(model)?.get('train ms')));
      assert.equal(metrics.get('artifact_bytes'), Number(table.get(model)?.get('artifact bytes')));
      assert.equal(metrics.get('test_users'), record.result.sizes.warmTest.users);
      assert.equal(metrics.get('cold_test_users'), record.result.sizes.coldTest.users);
    }
  });

  it('finds the same runs in the reco-experiments index', async () => {
    assert.ok(record, 'the evaluation ran');
    const response = await fetch(`${stack.esUrl}/${EXPERIMENTS_INDEX}/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 10, query: { term: { 'evaluation.id': record.id } } }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { hits: { hits: { _id: string; _source: { model: { name: string; version: string }; metrics: Record<string, number>; run: { mlflow_run_id?: string } } }[] } };
    const hits = body.hits.hits;
    assert.equal(hits.length, 5);
    const table = parseTable(stdout);
    const k = record.result.k;
    const esKey = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    for (const hit of hits) {
      const model = hit._source.model.name;
      const ours = record.result.models.find((m) => m.model === model);
      assert.ok(ours);
      assert.equal(hit._id, `${record.id}-${model}`);
      assert.equal(hit._source.run.mlflow_run_id, record.tracking.mlflow?.runIds[model]);
      assert.match(hit._source.model.version, /^\d+\.\d+\.\d+\+/);
      for (const key of METRIC_KEYS) {
        const value = hit._source.metrics[esKey(key)];
        assert.equal(value, ours.metrics[key], `${model} ${key}`);
        const column = key === 'popularFill' ? METRIC_LABELS[key] : `${METRIC_LABELS[key]}@${k}`;
        assert.equal(formatValue(key, value), table.get(model)?.get(column));
      }
    }
    const mapping = (await (await fetch(`${stack.esUrl}/${EXPERIMENTS_INDEX}/_mapping`)).json()) as Record<string, { mappings: { dynamic?: string } }>;
    assert.equal(Object.values(mapping)[0]?.mappings.dynamic, 'strict', 'the index was made from the reco-experiments template');
  });

  it('the --dump-recos CSV reproduces every metric when rescored by rectools', async () => {
    assert.ok(record, 'the evaluation ran');
    const { stdout: check } = await execFileAsync(
      'bash',
      [join(PROJECT_ROOT, 'evaluation', 'check-recos.sh'), '--run', join(work, 'run.json'), '--recos', join(work, 'recos.csv')],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...stack.env }, timeout: 600_000 },
    );
    assert.match(check, /all metrics agree/);
    assert.equal((check.match(/ ok$/gm) ?? []).length, 5 * 8, check);
    assert.match(check, /knn_onnx +map /);
  });
});
