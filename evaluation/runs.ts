/**
 * Experiment tracking, the local part: every evaluation is written to runs/<id>.json (ignored
 * by git) with one run per model, and `--compare A B` prints the metric deltas of two of them.
 * The same flat view of a model run (params, metrics, tags) feeds MLflow and Elasticsearch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PACKAGE, PROJECT_ROOT } from '../src/paths';
import type { EvaluationResult, ModelResult } from './evaluate';
import type { MetricKey } from './metrics';
import { METRIC_KEYS } from './metrics';
import { describeSplit } from './split';
import { formatTable, formatValue } from './table';

export const RUNS_DIR = join(PROJECT_ROOT, 'runs');

export interface GitInfo {
  sha: string;
  dirty: boolean;
}

export interface RunRecord {
  /** The evaluation's id; model run ids are `<id>-<model>`. */
  id: string;
  startedAt: string;
  finishedAt: string;
  git: GitInfo;
  recoscopeVersion: string;
  argv: string[];
  peakRssBytes: number;
  result: EvaluationResult;
  /** Where else the runs went (filled in by the trackers). */
  tracking: { mlflow?: { url: string; experimentId: string; runIds: Record<string, string> }; elasticsearch?: { url: string; index: string } };
}

/** The checkout's commit and whether it has uncommitted changes; `unknown` outside a git checkout (e.g. the image). */
export function gitInfo(cwd: string = PROJECT_ROOT): GitInfo {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { sha, dirty: status.trim() !== '' };
  } catch {
    return { sha: 'unknown', dirty: false };
  }
}

export function evaluationId(startedAt: Date, fingerprint: string): string {
  return `${startedAt.toISOString().replace(/[-:.]/g, '')}-${fingerprint.slice(0, 8)}`;
}

export const modelRunId = (record: RunRecord, model: string): string => `${record.id}-${model}`;

/** MLflow-safe metric key of an "at k" metric: `map_at_10`, `hit_rate_at_10`. */
export function metricKey(key: MetricKey, k: number): string {
  return `${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_at_${k}`;
}

export interface FlatRun {
  name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

/** A model run as key/value pairs: what MLflow logs and what the ES document is built from. */
export function flattenRun(record: RunRecord, m: ModelResult): FlatRun {
  const r = record.result;
  const params: Record<string, string> = {
    model: m.model,
    kind: m.kind,
    k: String(r.k),
    split: describeSplit(r.split.spec),
    split_cutoff: r.split.cutoff,
    dataset_source: r.dataset.source,
    dataset_fingerprint: r.dataset.fingerprint,
    train_fingerprint: r.trainFingerprint,
    git_sha: record.git.sha,
    git_dirty: String(record.git.dirty),
    recoscope_version: record.recoscopeVersion,
  };
  for (const [key, value] of Object.entries(m.params)) params[`param_${key}`] = String(value);
  const metrics: Record<string, number> = {};
  for (const key of METRIC_KEYS) metrics[metricKey(key, r.k)] = m.metrics[key];
  Object.assign(metrics, {
    train_ms: m.trainMs,
    artifact_bytes: m.artifactBytes,
    recommend_p50_us: m.recommendP50Us,
    recommend_p99_us: m.recommendP99Us,
    recommend_total_ms: m.recommendTotalMs,
    test_users: m.users,
    cold_test_users: r.sizes.coldTest.users,
    train_users: r.sizes.train.users,
    train_items: r.sizes.train.items,
    train_interactions: r.sizes.train.interactions,
    test_interactions: r.sizes.test.interactions,
    dataset_users: r.dataset.users,
    dataset_items: r.dataset.items,
    dataset_interactions: r.dataset.interactions,
  });
  const tags: Record<string, string> = {
    'recoscope.evaluation_id': record.id,
    'recoscope.model': m.model,
    'mlflow.source.git.commit': record.git.sha,
    'recoscope.git_dirty': String(record.git.dirty),
  };
  return { name: modelRunId(record, m.model), params, metrics, tags };
}

export async function saveRunRecord(record: RunRecord, dir: string = RUNS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${record.id}.json`);
  await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
  return path;
}

/** A run given as a path to its JSON, or as an id under runs/. */
export async function loadRunRecord(ref: string, dir: string = RUNS_DIR): Promise<RunRecord> {
  const candidates = [resolve(ref), join(dir, ref), join(dir, `${ref}.json`)];
  const path = candidates.find((p) => p.endsWith('.json') && existsSync(p));
  if (path === undefined) throw new Error(`no run ${ref} (looked for ${candidates.filter((p) => p.endsWith('.json')).join(', ')})`);
  const record = JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  if (typeof record.id !== 'string' || record.result?.models === undefined) throw new Error(`${path} is not an evaluation run record`);
  return record;
}

/** Per model in both runs, per metric: A, B, B − A. */
export function compareRuns(a: RunRecord, b: RunRecord): string {
  const out: string[] = [];
  out.push(`A: ${a.id}  (${a.result.dataset.description}; ${describeSplit(a.result.split.spec)}; k=${a.result.k}; git ${a.git.sha.slice(0, 10)}${a.git.dirty ? '+dirty' : ''})`);
  out.push(`B: ${b.id}  (${b.result.dataset.description}; ${describeSplit(b.result.split.spec)}; k=${b.result.k}; git ${b.git.sha.slice(0, 10)}${b.git.dirty ? '+dirty' : ''})`);
  if (a.result.dataset.fingerprint !== b.result.dataset.fingerprint) out.push('note: the runs are on different datasets');
  if (a.result.k !== b.result.k) out.push('note: the runs use different k');
  const rows: string[][] = [];
  const timing = ['trainMs', 'artifactBytes', 'recommendP50Us', 'recommendP99Us'] as const;
  for (const ma of a.result.models) {
    const mb = b.result.models.find((m) => m.model === ma.model);
    if (mb === undefined) continue;
    for (const key of METRIC_KEYS) {
      const va = ma.metrics[key];
      const vb = mb.metrics[key];
      rows.push([ma.model, key, formatValue(key, va), formatValue(key, vb), signed(key, vb - va), relative(va, vb)]);
    }
    for (const key of timing) rows.push([ma.model, key, String(ma[key]), String(mb[key]), signed(key, mb[key] - ma[key]), relative(ma[key], mb[key])]);
  }
  const only = (x: RunRecord, y: RunRecord): string[] => x.result.models.map((m) => m.model).filter((n) => !y.result.models.some((m) => m.model === n));
  if (only(a, b).length > 0) out.push(`only in A: ${only(a, b).join(', ')}`);
  if (only(b, a).length > 0) out.push(`only in B: ${only(b, a).join(', ')}`);
  out.push('', formatTable(['model', 'metric', 'A', 'B', 'B − A', 'change'], rows, ['l', 'l', 'r', 'r', 'r', 'r']));
  return out.join('\n');
}

function signed(key: string, delta: number): string {
  const text = METRIC_KEYS.includes(key as MetricKey) ? formatValue(key as MetricKey, Math.abs(delta)) : String(Math.round(Math.abs(delta) * 100) / 100);
  return `${delta < 0 ? '−' : '+'}${text}`;
}

function relative(a: number, b: number): string {
  if (a === 0) return b === 0 ? '0%' : '—';
  const pct = ((b - a) / Math.abs(a)) * 100;
  return `${pct >= 0 ? '+' : '−'}${Math.abs(pct).toFixed(1)}%`;
}

export function newRecord(result: EvaluationResult, startedAt: Date, argv: string[]): RunRecord {
  return {
    id: evaluationId(startedAt, result.dataset.fingerprint),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    git: gitInfo(),
    recoscopeVersion: PACKAGE.version,
    argv,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    result,
    tracking: {},
  };
}
