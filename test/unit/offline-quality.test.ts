/** Artifacts carrying the offline metrics of the evaluation that scored their configuration. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InteractionsBuilder } from '../../src/data/interactions';
import { loadMatchingArtifact, saveArtifact } from '../../src/models/artifacts';
import { modelSpec } from '../../src/models/catalog';
import { evaluationFor } from '../../src/models/offline-quality';
import { trainModel } from '../../src/models/training';

const PARAMS = { popularWindowDays: 14, knnNeighbours: 50, bm25K1: 1.2, bm25B: 0.75 };
const FP = 'ab'.repeat(32);

function record(overrides: { fingerprint?: string; neighbours?: number } = {}) {
  return {
    id: '20260101T000000000Z-abababab',
    finishedAt: '2026-01-01T00:00:05.000Z',
    result: {
      k: 10,
      split: { spec: { kind: 'days', days: 7 }, cutoff: 'x' },
      dataset: { fingerprint: overrides.fingerprint ?? FP },
      models: [
        { model: 'popular', kind: 'popular', params: { windowDays: 14 }, metrics: { map: 0.1, coverage: 7 } },
        { model: 'knn', kind: 'knn', params: { weighting: 'bm25', neighbours: overrides.neighbours ?? 50, k1: 1.2, b: 0.75 }, metrics: { map: 0.2, ndcg: 0.3 } },
      ],
    },
  };
}

describe('offline metrics in artifacts', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds the model run with the same model, params and dataset', () => {
    const found = evaluationFor(record(), modelSpec('knn', PARAMS), FP);
    assert.deepEqual(found, {
      evaluationId: '20260101T000000000Z-abababab',
      evaluatedAt: '2026-01-01T00:00:05.000Z',
      k: 10,
      split: { kind: 'days', days: 7 },
      metrics: { map: 0.2, ndcg: 0.3 },
    });
  });

  it('says why nothing matches: other dataset, other params, absent model, not a record', () => {
    assert.match((evaluationFor(record({ fingerprint: 'cd' }), modelSpec('knn', PARAMS), FP) as { missing: string }).missing, /another dataset/);
    assert.match((evaluationFor(record({ neighbours: 20 }), modelSpec('knn', PARAMS), FP) as { missing: string }).missing, /other params/);
    assert.match((evaluationFor(record(), modelSpec('knn_tfidf', PARAMS), FP) as { missing: string }).missing, /no knn_tfidf run/);
    assert.match((evaluationFor({ hello: 1 }, modelSpec('knn', PARAMS), FP) as { missing: string }).missing, /not an evaluation/);
  });

  it('writes them into metadata.json, and the artifact still loads', async () => {
    const b = new InteractionsBuilder();
    b.append(1, 10, 1, 1000);
    b.append(2, 10, 1, 2000);
    b.append(2, 11, 1, 3000);
    const data = b.build().interactions;
    const spec = modelSpec('popular', PARAMS);
    const trained = trainModel(spec, data);
    const root = mkdtempSync(join(tmpdir(), 'recoscope-offline-'));
    dirs.push(root);
    const found = evaluationFor(record(), spec, FP);
    assert.ok(!('missing' in found));
    const info = { fingerprint: FP, description: 'tiny', users: 2, items: 2, interactions: 3 };
    const saved = await saveArtifact(root, spec, trained.state, data.items.ids, info, trained.trainMs, new Date(), found);
    const version = readdirSync(join(root, 'popular'))[0] as string;
    const metadata = JSON.parse(readFileSync(join(root, 'popular', version, 'metadata.json'), 'utf8')) as { evaluation?: { metrics: Record<string, number> } };
    assert.deepEqual(metadata.evaluation?.metrics, { map: 0.1, coverage: 7 });
    const loaded = await loadMatchingArtifact(root, spec, FP, data.items.ids);
    assert.equal(loaded.loaded?.metadata.version, saved.metadata.version);
    assert.equal(loaded.loaded?.metadata.evaluation?.evaluationId, '20260101T000000000Z-abababab');
  });
});
