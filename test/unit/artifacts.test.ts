import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { LoadedDataset } from '../../src/data/datasets';
import { loadDataset } from '../../src/data/datasets';
import { decodeArrays, encodeArrays, loadMatchingArtifact, saveArtifact } from '../../src/models/artifacts';
import { MODEL_NAMES, modelSpec } from '../../src/models/catalog';
import type { ModelLog } from '../../src/models/registry';
import { datasetInfo, prepareModels } from '../../src/models/registry';
import { untracedStages } from '../../src/models/stages';
import { trainModel } from '../../src/models/training';
import type { Recommender } from '../../src/models/types';

const root = mkdtempSync(join(tmpdir(), 'recoscope-artifacts-'));
after(() => rmSync(root, { recursive: true, force: true }));

function config(dir: string, overrides: Partial<{ seed: number; neighbours: number }> = {}): Config {
  const c = loadConfig({
    ARTIFACTS_DIR: dir,
    SYNTHETIC_USERS: '2000',
    SYNTHETIC_ITEMS: '400',
    SYNTHETIC_INTERACTIONS: '20000',
    SYNTHETIC_SEED: String(overrides.seed ?? 5),
    KNN_NEIGHBOURS: String(overrides.neighbours ?? 20),
  });
  return c;
}

function quietLog(): ModelLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`WARN ${m}`) };
}

function answers(model: Recommender, users: Int32Array): number[][] {
  return [...users].map((u) => model.recommend(u, 10, untracedStages).items);
}

async function trainAll(cfg: Config, dataset: LoadedDataset): Promise<void> {
  for (const name of MODEL_NAMES) {
    const spec = modelSpec(name, cfg.models);
    const trained = trainModel(spec, dataset.interactions);
    await saveArtifact(cfg.artifactsDir, spec, trained.state, dataset.interactions.items.ids, datasetInfo(dataset), trained.trainMs);
  }
}

describe('artifacts', () => {
  it('binary encoding round-trips typed arrays exactly', () => {
    const arrays = { a: Int32Array.from([1, -2, 2 ** 31 - 1]), b: Float32Array.from([0.1, NaN, -3.5]), c: new Int32Array(0) };
    const back = decodeArrays(encodeArrays(arrays));
    assert.deepEqual([...(back.get('a') as Int32Array)], [...arrays.a]);
    assert.deepEqual([...(back.get('b') as Float32Array)], [...arrays.b]);
    assert.equal(back.get('c')?.length, 0);
  });

  it('save → prepareModels loads them and answers exactly like the freshly trained models', async () => {
    const dir = join(root, 'roundtrip');
    const cfg = config(dir);
    const dataset = await loadDataset(cfg.dataset);
    const fresh = await prepareModels(cfg, quietLog(), { dataset });
    assert.ok(Object.values(fresh.timings.models).every((t) => t.source === 'trained'));

    await trainAll(cfg, dataset);
    const meta = JSON.parse(readFileSync(join(dir, 'knn', readdirSync(join(dir, 'knn'))[0] as string, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    assert.equal((meta.dataset as { fingerprint: string }).fingerprint, dataset.fingerprint);
    assert.deepEqual(meta.params, { weighting: 'bm25', neighbours: 20, k1: 1.2, b: 0.75 });
    for (const key of ['trainMs', 'sizeBytes', 'createdAt', 'recoscopeVersion', 'sha256']) assert.ok(key in meta, key);
    assert.equal(meta.recoscopeVersion, '0.1.0');

    const log = quietLog();
    const loaded = await prepareModels(cfg, log, { dataset });
    assert.ok(Object.values(loaded.timings.models).every((t) => t.source === 'artifact'), JSON.stringify(loaded.timings));
    assert.ok(log.lines.some((l) => l.startsWith('models loaded from artifacts')));
    const users = dataset.interactions.users.ids.subarray(0, 300);
    for (const name of MODEL_NAMES) {
      const a = fresh.registry.get(name) as Recommender;
      const b = loaded.registry.get(name) as Recommender;
      assert.deepEqual(answers(b, users), answers(a, users), name);
    }
  });

  it('retrains when the dataset fingerprint or the params differ', async () => {
    const dir = join(root, 'mismatch');
    const cfg = config(dir);
    await trainAll(cfg, await loadDataset(cfg.dataset));

    const otherData = config(dir, { seed: 6 });
    const log = quietLog();
    const r1 = await prepareModels(otherData, log);
    assert.ok(Object.values(r1.timings.models).every((t) => t.source === 'trained'));
    assert.ok(log.lines.some((l) => l === 'models trained'));

    const otherParams = config(dir, { neighbours: 30 });
    const r2 = await prepareModels(otherParams, quietLog());
    assert.equal(r2.timings.models.popular?.source, 'artifact', 'popular does not depend on the neighbour count');
    assert.equal(r2.timings.models.knn?.source, 'trained');
    assert.equal(r2.timings.models.knn_cosine?.source, 'trained');
  });

  it('picks the newest matching version and skips a corrupt one with a warning', async () => {
    const dir = join(root, 'versions');
    const cfg = config(dir);
    const dataset = await loadDataset(cfg.dataset);
    const spec = modelSpec('popular', cfg.models);
    const trained = trainModel(spec, dataset.interactions);
    const info = datasetInfo(dataset);
    const ids = dataset.interactions.items.ids;
    const older = await saveArtifact(dir, spec, trained.state, ids, info, 1, new Date('2024-01-01T00:00:00Z'));
    const newer = await saveArtifact(dir, spec, trained.state, ids, info, 1, new Date('2024-06-01T00:00:00Z'));
    let found = await loadMatchingArtifact(dir, spec, dataset.fingerprint, ids);
    assert.equal(found.loaded?.dir, newer.dir);

    writeFileSync(join(newer.dir, 'model.bin'), 'garbage');
    found = await loadMatchingArtifact(dir, spec, dataset.fingerprint, ids);
    assert.equal(found.loaded?.dir, older.dir);
    assert.equal(found.rejected.length, 1);
    assert.match(found.rejected[0]?.reason ?? '', /checksum/);
  });
});
