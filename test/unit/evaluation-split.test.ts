/** The temporal split, the printed table (and its parser) and run comparison, on tiny data. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InteractionsBuilder } from '../../src/data/interactions';
import type { EvaluationResult, ModelResult } from '../../evaluation/evaluate';
import type { RunRecord } from '../../evaluation/runs';
import { compareRuns, evaluationId, flattenRun, metricKey } from '../../evaluation/runs';
import { temporalSplit } from '../../evaluation/split';
import { metricsTable, parseTable } from '../../evaluation/table';

const DAY = 86_400;
const T0 = 1_700_000_000;

/** user → [item, day] rows. */
function store(rows: Record<number, [number, number][]>) {
  const b = new InteractionsBuilder();
  for (const [user, list] of Object.entries(rows)) for (const [item, day] of list) b.append(Number(user), item, 1, T0 + day * DAY);
  return b.build().interactions;
}

const part = (p: { users: Int32Array; ptr: Int32Array; items: Int32Array }): Record<number, number[]> =>
  Object.fromEntries([...p.users].map((u, i) => [u, [...p.items.subarray(p.ptr[i], p.ptr[i + 1])].sort((a, b) => a - b)]));

describe('temporal split', () => {
  // Newest day is 10. Last 2 days = strictly after day 8: days 9 and 10.
  const data = store({
    1: [[100, 1], [101, 9], [102, 10]], // warm: train 100, test 101 102
    2: [[100, 2], [103, 3]], // train only
    3: [[104, 9]], // cold: test only
    4: [[105, 8], [100, 10]], // day 8 is not after day 8: train 105, test 100
  });

  it('--test-days: test = strictly after newest − D days; warm and cold users apart', () => {
    const s = temporalSplit(data, { kind: 'days', days: 2 });
    assert.deepEqual(part(s.warm), { 1: [101, 102], 4: [100] });
    assert.deepEqual(part(s.cold), { 3: [104] });
    assert.deepEqual([...s.train.users.ids], [1, 2, 4]);
    assert.deepEqual([...s.train.items.ids], [100, 103, 105]);
    assert.equal(s.train.nnz, 4);
    assert.deepEqual(s.sizes.train, { users: 3, items: 3, interactions: 4 });
    assert.deepEqual(s.sizes.test, { users: 3, items: 4, interactions: 4 });
    assert.deepEqual(s.sizes.warmTest, { users: 2, items: 3, interactions: 3 });
    assert.deepEqual(s.sizes.coldTest, { users: 1, items: 1, interactions: 1 });
    assert.equal(s.cutoff, T0 + 8 * DAY + 1);
  });

  it('--test-fraction: the newest round(f·n) interactions, ties in time broken by (user, item)', () => {
    // 8 interactions, f = 0.375 → 3 test rows. By time: day 10 (users 1, 4), then day 9 rows
    // (1→101, 3→104): the tie goes to the later (user, item), so 3→104 is test, 1→101 train.
    const s = temporalSplit(data, { kind: 'fraction', fraction: 0.375 });
    assert.deepEqual(part(s.warm), { 1: [102], 4: [100] });
    assert.deepEqual(part(s.cold), { 3: [104] });
    assert.equal(s.sizes.test.interactions, 3);
    assert.equal(s.train.nnz, 5);
    // 0.3 · 8 = 2.4 rounds to 2: only the day-10 rows.
    assert.equal(temporalSplit(data, { kind: 'fraction', fraction: 0.3 }).sizes.test.interactions, 2);
  });

  it('never puts a user’s train item among that user’s test items', () => {
    const s = temporalSplit(data, { kind: 'days', days: 2 });
    for (const [user, items] of Object.entries(part(s.warm))) {
      const u = s.train.users.indexOf(Number(user));
      const trainItems = [...s.train.itemIdx.subarray(s.train.userPtr[u], s.train.userPtr[u + 1])].map((i) => s.train.items.ids[i]);
      for (const item of items) assert.ok(!trainItems.includes(item));
    }
  });

  it('rejects empty or whole-data test parts', () => {
    assert.throws(() => temporalSplit(data, { kind: 'days', days: 0 }), /positive/);
    assert.throws(() => temporalSplit(data, { kind: 'fraction', fraction: 1 }), /\(0, 1\)/);
  });
});

function model(name: ModelResult['model'], map: number, coverage: number): ModelResult {
  return {
    model: name,
    kind: name === 'popular' ? 'popular' : 'knn',
    params: name === 'popular' ? { windowDays: 14 } : { weighting: 'bm25', neighbours: 50, k1: 1.2, b: 0.75 },
    metrics: { map, ndcg: 0.5, precision: 0.25, recall: 0.125, hitRate: 1, mrr: 1 / 3, coverage, novelty: 2, popularFill: 0 },
    users: 4,
    trainMs: 10,
    artifactBytes: 1000,
    recommendP50Us: 3.25,
    recommendP99Us: 40,
    recommendTotalMs: 1,
  };
}

function record(id: string, models: ModelResult[]): RunRecord {
  const sizes = { users: 1, items: 1, interactions: 1 };
  const result: EvaluationResult = {
    k: 10,
    split: { spec: { kind: 'days', days: 7 }, cutoff: '2026-01-01T00:00:00.000Z' },
    dataset: { source: 'x.csv', description: 'x', fingerprint: 'f'.repeat(64), ...sizes },
    trainFingerprint: 'e'.repeat(64),
    sizes: { train: sizes, test: sizes, warmTest: sizes, coldTest: { users: 0, items: 0, interactions: 0 } },
    models,
    timings: { loadMs: 1, splitMs: 1, totalMs: 2 },
  };
  return { id, startedAt: '', finishedAt: '2026-01-01T00:00:00.000Z', git: { sha: 'a'.repeat(40), dirty: true }, recoscopeVersion: '0.1.0', argv: [], peakRssBytes: 1, result, tracking: {} };
}

describe('table, run records and compare', () => {
  it('prints models × metrics and parses back to the same cells', () => {
    const r = record('A', [model('popular', 0.0123456, 71), model('knn', 0.5, 120)]);
    const table = parseTable(metricsTable(r.result));
    assert.deepEqual([...table.keys()], ['popular', 'knn']);
    assert.equal(table.get('popular')?.get('MAP@10'), '0.0123');
    assert.equal(table.get('knn')?.get('Coverage@10'), '120');
    assert.equal(table.get('knn')?.get('PopularFill'), '0.0000');
    assert.equal(table.get('popular')?.get('reco p50 µs'), '3.3');
  });

  it('flattens a model run into MLflow-safe keys', () => {
    const r = record('20260101T000000000Z-ffffffff', [model('knn', 0.5, 120)]);
    const flat = flattenRun(r, r.result.models[0] as ModelResult);
    assert.equal(flat.name, '20260101T000000000Z-ffffffff-knn');
    assert.equal(flat.metrics.map_at_10, 0.5);
    assert.equal(flat.metrics.hit_rate_at_10, 1);
    assert.equal(flat.params.param_weighting, 'bm25');
    assert.equal(flat.params.git_dirty, 'true');
    for (const key of [...Object.keys(flat.metrics), ...Object.keys(flat.params)]) assert.match(key, /^[\w.\-/ ]+$/);
    assert.equal(metricKey('popularFill', 5), 'popular_fill_at_5');
  });

  it('compares two runs metric by metric', () => {
    const text = compareRuns(record('A', [model('popular', 0.01, 70), model('knn', 0.02, 100)]), record('B', [model('popular', 0.015, 70)]));
    const rows = text.split('\n').filter((l) => l.startsWith('| popular') && l.includes(' map '));
    assert.equal(rows.length, 1);
    assert.match(rows[0] as string, /0\.0100 \| 0\.0150 \| +\+0\.0050 \| +\+50\.0% \|/);
    assert.match(text, /only in A: knn/);
  });

  it('makes ids from the start time and the dataset fingerprint', () => {
    assert.equal(evaluationId(new Date('2026-11-25T17:01:16.248Z'), '3be5a9badb92'), '20261125T170116248Z-3be5a9ba');
  });
});
