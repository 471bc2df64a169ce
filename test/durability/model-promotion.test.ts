/**
 * A promotion and a rollback under a steady load against the compiled service: no request
 * fails, and the access lines switch version at one instant. "Instant" is read from the log's
 * own order (one process, one writer: the file's line order), never from clocks: every kNN
 * access line before the first one served by the new version was served by the old one, and
 * every one after it by the new one.
 *
 * The promotion is picked up through POST /admin/models/reload, the rollback through SIGHUP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { ADMIN_RELOAD_PATH, MODEL_PROMOTED_ACTION } from '../../src/contracts';
import { loadDataset } from '../../src/data/datasets';
import { saveArtifact } from '../../src/models/artifacts';
import { modelSpec } from '../../src/models/catalog';
import { openModelRegistry } from '../../src/models/model-registry';
import { datasetInfo } from '../../src/models/registry';
import { trainModel } from '../../src/models/training';
import { startSteadyLoad } from '../faults/load';
import { field, SMALL_DATASET_ENV } from '../helpers/service';
import { waitUntil } from '../helpers/wait';
import { readLogDirLines, spawnService, type SpawnedService } from './durability';

const API_KEY = 'promotion-test-api-key-0123456789';
const ADMIN_KEY = 'promotion-test-admin-key-987654321';
const USER_AGENT = 'model-promotion-load';

/** The distinct versions in order of appearance, with how many lines each run had. */
function runs(versions: unknown[]): { version: unknown; lines: number }[] {
  const out: { version: unknown; lines: number }[] = [];
  for (const version of versions) {
    const last = out.at(-1);
    if (last !== undefined && last.version === version) last.lines++;
    else out.push({ version, lines: 1 });
  }
  return out;
}

describe('model promotion under load', () => {
  const root = mkdtempSync(join(tmpdir(), 'recoscope-promotion-'));
  const artifacts = join(root, 'artifacts');
  let service: SpawnedService | undefined;
  after(async () => {
    await service?.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('promote (admin endpoint) and roll back (SIGHUP) at 200 req/s: 0 failed, one switch instant each', async () => {
    service = await spawnService({
      env: { API_KEY, ADMIN_API_KEY: ADMIN_KEY, ARTIFACTS_DIR: artifacts, LOG_STDOUT: 'false' },
      stdout: 'file',
      logDir: join(root, 'logs'),
    });
    const store = openModelRegistry(artifacts);
    const v1 = await waitUntil(async () => (await store.state('knn')).aliases.production, 'knn@production registered at start-up');

    // Another knn version of the same dataset (other params, so it is a real other model).
    const cfg = loadConfig({ ...SMALL_DATASET_ENV, ARTIFACTS_DIR: artifacts });
    const dataset = await loadDataset(cfg.dataset);
    const spec = modelSpec('knn', { ...cfg.models, knnNeighbours: 7 });
    const trained = trainModel(spec, dataset.interactions);
    const v2 = (await saveArtifact(artifacts, spec, trained.state, dataset.interactions.items.ids, datasetInfo(dataset), trained.trainMs)).metadata.version;

    const load = startSteadyLoad({ url: service.url, apiKey: API_KEY, userAgent: USER_AGENT, rate: 200 });
    const okAfter = async (n: number): Promise<void> => {
      const target = load.counts().ok + n;
      await waitUntil(() => load.counts().ok >= target, `${n} more answers`, 60_000, 20);
    };
    await okAfter(300);
    await store.promote('knn', v2);
    const res = await fetch(`${service.url}${ADMIN_RELOAD_PATH}`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 200, await res.text());
    await okAfter(300);
    await store.rollback('knn');
    service.child.kill('SIGHUP');
    const logFile = (): ReturnType<typeof readLogDirLines> => readLogDirLines(join(root, 'logs'));
    await waitUntil(
      () => logFile().records.some((r) => field(r, 'event.action') === MODEL_PROMOTED_ACTION && field(r, 'recoscope.model.ref') === 'knn@production' && field(r, 'recoscope.model.to') === v1),
      'the rollback line',
      30_000,
      50,
    );
    await okAfter(300);
    const counts = await load.stop();
    assert.equal(await service.stop('SIGTERM'), 0);

    assert.equal(counts.failed, 0, counts.firstFailure);
    assert.equal(counts.skipped, 0);
    const { records, unparsable } = logFile();
    assert.equal(unparsable, 0);
    const knnLines = records.filter((r) => field(r, 'user_agent.original') === USER_AGENT && field(r, 'reco.model') === 'knn');
    const sequence = runs(knnLines.map((r) => field(r, 'reco.model_version')));
    assert.deepEqual(
      sequence.map((s) => s.version),
      [v1, v2, v1],
      `versions in log order: ${JSON.stringify(sequence)}`,
    );
    assert.equal(
      records.filter((r) => field(r, 'user_agent.original') === USER_AGENT && (field(r, 'http.response.status_code') as number) !== 200).length,
      0,
    );
    // Every request the load got an answer to has its access line.
    assert.equal(records.filter((r) => field(r, 'user_agent.original') === USER_AGENT).length, counts.ok);
    process.stdout.write(`# promotion under load: ${counts.ok} answers, 0 failed; knn lines per version in log order: ${sequence.map((s) => `${String(s.version)} × ${s.lines}`).join(' → ')}\n`);
  });
});
