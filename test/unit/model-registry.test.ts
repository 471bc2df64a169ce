import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { LoadedDataset } from '../../src/data/datasets';
import { loadDataset } from '../../src/data/datasets';
import { saveArtifact } from '../../src/models/artifacts';
import { modelSpec } from '../../src/models/catalog';
import { openModelRegistry, RegistryError } from '../../src/models/model-registry';
import { ModelRefError, parseModelRef } from '../../src/models/refs';
import type { ModelLog } from '../../src/models/registry';
import { datasetInfo, prepareModels } from '../../src/models/registry';
import { untracedStages } from '../../src/models/stages';
import { trainModel } from '../../src/models/training';

const root = mkdtempSync(join(tmpdir(), 'recoscope-registry-'));
after(() => rmSync(root, { recursive: true, force: true }));

function config(dir: string, seed = 5): Config {
  return loadConfig({
    ARTIFACTS_DIR: dir,
    SYNTHETIC_USERS: '1500',
    SYNTHETIC_ITEMS: '300',
    SYNTHETIC_INTERACTIONS: '15000',
    SYNTHETIC_SEED: String(seed),
    KNN_NEIGHBOURS: '20',
  });
}

interface Line {
  level: 'info' | 'warn';
  message: string;
  meta: { event?: { action?: string }; recoscope?: { model?: { ref?: string; from?: string | null; to?: string; reason?: string } } };
}
function memoryLog(): ModelLog & { lines: Line[]; actions: (action: string) => Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    info: (message, meta = {}) => void lines.push({ level: 'info', message, meta: meta }),
    warn: (message, meta = {}) => void lines.push({ level: 'warn', message, meta: meta }),
    actions: (action) => lines.filter((l) => l.meta.event?.action === action),
  };
}

/** A new knn version with other params (so it answers differently), saved beside the others. */
async function knnVersion(cfg: Config, dataset: LoadedDataset, neighbours: number, at: Date): Promise<string> {
  const spec = modelSpec('knn', { ...cfg.models, knnNeighbours: neighbours });
  const trained = trainModel(spec, dataset.interactions);
  const saved = await saveArtifact(cfg.artifactsDir, spec, trained.state, dataset.interactions.items.ids, datasetInfo(dataset), trained.trainMs, at);
  return saved.metadata.version;
}

describe('model refs', () => {
  it('a bare name is production; aliases and version ids parse; anything else is refused with why', () => {
    assert.deepEqual(parseModelRef('knn'), { model: 'knn', alias: 'production' });
    assert.deepEqual(parseModelRef('knn@staging'), { model: 'knn', alias: 'staging' });
    assert.deepEqual(parseModelRef('knn@20261201T231820123Z-3f9c2a1b'), { model: 'knn', version: '20261201T231820123Z-3f9c2a1b' });
    assert.deepEqual(parseModelRef('knn@20261201T231820123Z-3f9c2a1b-2'), { model: 'knn', version: '20261201T231820123Z-3f9c2a1b-2' });
    assert.throws(() => parseModelRef('knn@latest'), (e: Error) => e instanceof ModelRefError && /neither an alias/.test(e.message));
    assert.throws(() => parseModelRef('Knn'), ModelRefError);
    assert.throws(() => parseModelRef('@staging'), ModelRefError);
  });
});

describe('model registry', () => {
  const dir = join(root, 'lifecycle');
  const cfg = config(dir);
  let dataset: LoadedDataset;
  before(async () => {
    dataset = await loadDataset(cfg.dataset);
  });

  it('a fresh start-up trains, saves and registers each model as its production', async () => {
    const log = memoryLog();
    const prepared = await prepareModels(cfg, log, { dataset, models: ['popular', 'knn'] });
    const store = openModelRegistry(dir);
    for (const name of ['popular', 'knn']) {
      const production = (await store.state(name)).aliases.production;
      assert.ok(production !== undefined, name);
      assert.equal(prepared.registry.get(name)?.version, production);
      assert.equal(prepared.registry.get(`${name}@production`)?.version, production);
      assert.equal(prepared.registry.get(`${name}@${production}`)?.version, production);
    }
    assert.equal(log.actions('model-registered').length, 2);
    // The second start-up reuses them: nothing trained, nothing registered again.
    const again = memoryLog();
    const second = await prepareModels(cfg, again, { dataset, models: ['popular', 'knn'] });
    assert.ok(Object.values(second.timings.models).every((t) => t.source === 'artifact'), JSON.stringify(second.timings));
    assert.equal(again.actions('model-registered').length, 0);
    assert.equal(second.registry.get('knn')?.version, prepared.registry.get('knn')?.version);
  });

  it('promote → reload swaps the served version; rollback walks the alias history back', async () => {
    const log = memoryLog();
    const prepared = await prepareModels(cfg, log, { dataset, models: ['popular', 'knn'] });
    const served = prepared.registry;
    const store = openModelRegistry(dir);
    const v1 = served.get('knn')?.version as string;
    const v2 = await knnVersion(cfg, dataset, 5, new Date('2030-01-01T00:00:00Z'));
    const v3 = await knnVersion(cfg, dataset, 8, new Date('2030-01-02T00:00:00Z'));
    const users = dataset.interactions.users.ids.subarray(0, 200);
    const answers = (): number[][] => [...users].map((u) => (served.get('knn')?.recommend(u, 10, untracedStages).items ?? []));
    const before = answers();

    assert.deepEqual(await store.promote('knn', v2), { model: 'knn', alias: 'production', from: v1, to: v2 });
    // Nothing changes until the service reloads.
    assert.equal(served.get('knn')?.version, v1);
    const report = await served.reload();
    assert.deepEqual(report.changed.filter((c) => c.ref === 'knn'), [{ ref: 'knn', from: v1, to: v2 }]);
    assert.equal(served.get('knn')?.version, v2);
    assert.notDeepEqual(answers(), before, 'five neighbours answer differently from twenty');
    const promoted = log.actions('model-promoted').filter((l) => l.meta.recoscope?.model?.from === v1);
    assert.deepEqual(promoted.map((l) => l.meta.recoscope?.model?.ref), ['knn@production'], 'one line per alias changed');
    assert.match(promoted[0]?.message ?? '', new RegExp(`${v1} → ${v2}`));

    await store.promote('knn', v3);
    await store.promote('knn', v2, 'staging');
    await served.reload();
    assert.equal(served.get('knn')?.version, v3);
    assert.equal(served.get('knn@staging')?.version, v2);
    assert.equal(served.get(`knn@${v2}`)?.version, v2);

    assert.deepEqual(await store.rollback('knn'), { model: 'knn', alias: 'production', from: v3, to: v2 });
    assert.deepEqual(await store.rollback('knn'), { model: 'knn', alias: 'production', from: v2, to: v1 });
    await assert.rejects(store.rollback('knn'), (e: Error) => e instanceof RegistryError && /no earlier target/.test(e.message));
    await served.reload();
    assert.equal(served.get('knn')?.version, v1);
    assert.deepEqual(answers(), before, 'back on the first version, the first answers');
    const state = await store.state('knn');
    assert.deepEqual(
      state.events.map((e) => `${e.action} ${e.alias ?? ''} ${e.from ?? '-'}→${e.to ?? '-'}`),
      [`register production -→${v1}`, `promote production ${v1}→${v2}`, `promote production ${v2}→${v3}`, `promote staging -→${v2}`, `rollback production ${v3}→${v2}`, `rollback production ${v2}→${v1}`],
    );
  });

  it('archive moves a version no alias holds aside: listed with --archived, never promoted', async () => {
    const store = openModelRegistry(dir);
    const v4 = await knnVersion(cfg, dataset, 3, new Date('2030-02-01T00:00:00Z'));
    const production = (await store.state('knn')).aliases.production as string;
    await assert.rejects(store.archive('knn', production), (e: Error) => e instanceof RegistryError && /is production/.test(e.message));
    const archived = await store.archive('knn', v4);
    assert.ok(existsSync(archived.dir) && archived.dir.includes(join('knn', 'archive')));
    assert.ok(!(await store.versions('knn')).some((v) => v.version === v4));
    assert.ok((await store.versions('knn', { archived: true })).some((v) => v.version === v4 && v.archived));
    await assert.rejects(store.promote('knn', v4), (e: Error) => e instanceof RegistryError && /archived/.test(e.message));
    await assert.rejects(store.resolve(`knn@${v4}`), /archived/);
  });

  it('a corrupt or foreign version is refused with why, and the old one keeps serving', async () => {
    const log = memoryLog();
    const prepared = await prepareModels(cfg, log, { dataset, models: ['popular', 'knn'] });
    const served = prepared.registry;
    const store = openModelRegistry(dir);
    const serving = served.get('knn')?.version as string;

    const corrupt = await knnVersion(cfg, dataset, 6, new Date('2030-03-01T00:00:00Z'));
    writeFileSync(join(dir, 'knn', corrupt, 'model.bin'), 'not a model');
    await store.promote('knn', corrupt);
    let report = await served.reload();
    assert.equal(served.get('knn')?.version, serving);
    const refused = report.refused.find((r) => r.ref === 'knn');
    assert.equal(refused?.to, corrupt);
    assert.match(refused?.reason ?? '', /checksum mismatch/);
    const warn = log.actions('model-refused').find((l) => l.meta.recoscope?.model?.ref === 'knn@production');
    assert.equal(warn?.level, 'warn');
    assert.match(warn?.message ?? '', new RegExp(`knn@production: refused ${corrupt}, ${serving} keeps serving: checksum mismatch`));
    assert.equal(served.get('knn')?.recommend(dataset.interactions.users.ids[0] as number, 10, untracedStages).items.length, 10);

    // A version trained on another dataset: refused for its fingerprint.
    const other = await loadDataset(config(dir, 6).dataset);
    const spec = modelSpec('knn', cfg.models);
    const foreign = await saveArtifact(dir, spec, trainModel(spec, other.interactions).state, other.interactions.items.ids, datasetInfo(other), 1, new Date('2030-04-01T00:00:00Z'));
    await store.promote('knn', foreign.metadata.version);
    report = await served.reload();
    assert.equal(served.get('knn')?.version, serving);
    assert.match(report.refused.find((r) => r.ref === 'knn')?.reason ?? '', /trained on dataset .* the service serves/);

    // A missing file: the same.
    const gone = await knnVersion(cfg, dataset, 7, new Date('2030-05-01T00:00:00Z'));
    rmSync(join(dir, 'knn', gone, 'model.bin'));
    await store.promote('knn', gone);
    report = await served.reload();
    assert.equal(served.get('knn')?.version, serving);
    assert.match(report.refused.find((r) => r.ref === 'knn')?.reason ?? '', /ENOENT/);

    // A restart with production unusable serves what start-up always did, and leaves the alias alone.
    const restart = memoryLog();
    const again = await prepareModels(cfg, restart, { dataset, models: ['popular', 'knn'] });
    assert.ok(again.registry.get('knn') !== undefined);
    assert.equal((await store.state('knn')).aliases.production, gone);
    assert.ok(restart.actions('model-refused').length > 0);
  });

  it('an ARTIFACTS_DIR that cannot be written: start-up still serves, outside the registry, and warns', async () => {
    const notADir = join(root, 'a-file');
    writeFileSync(notADir, 'not a directory');
    const log = memoryLog();
    const prepared = await prepareModels(config(notADir), log, { dataset, models: ['popular', 'knn'] });
    const knn = prepared.registry.get('knn');
    assert.match(knn?.version ?? '', /^unsaved-[0-9a-f]{8}$/);
    assert.equal(knn?.recommend(dataset.interactions.users.ids[0] as number, 10, untracedStages).items.length, 10);
    assert.equal(log.actions('artifact-save-failed').length, 2);
    const report = await prepared.registry.reload();
    assert.equal(report.serving.knn, knn?.version, 'a reload keeps serving it');
  });
});
