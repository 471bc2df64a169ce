/**
 * The registry through HTTP, in-process: the real models over a temporary registry, the
 * service's logger into memory. The access line names the version that served; the admin
 * endpoint reloads behind its own key; a refused version answers 409 and the old one serves on.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { ADMIN_RELOAD_PATH, MODEL_PROMOTED_ACTION } from '../../src/contracts';
import { loadDataset, type LoadedDataset } from '../../src/data/datasets';
import { createApp } from '../../src/http/app';
import { drain, listen, serverUrl } from '../../src/http/server';
import { saveArtifact } from '../../src/models/artifacts';
import { modelSpec } from '../../src/models/catalog';
import { openModelRegistry } from '../../src/models/model-registry';
import { datasetInfo, prepareModels, type PreparedModels } from '../../src/models/registry';
import { trainModel } from '../../src/models/training';
import { logger } from '../../src/observability/logger';
import { registerSecret } from '../../src/observability/redact';
import { rawRequest } from '../helpers/http';
import { MemoryLog } from '../helpers/memory-log';
import { accessRecords, field } from '../helpers/service';

const API_KEY = 'registry-test-api-key-0123456789';
const ADMIN_KEY = 'registry-test-admin-key-9876543210';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const ADMIN = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('model registry over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recoscope-registry-http-'));
  const cfg = loadConfig({ ARTIFACTS_DIR: dir, SYNTHETIC_USERS: '1000', SYNTHETIC_ITEMS: '200', SYNTHETIC_INTERACTIONS: '10000', KNN_NEIGHBOURS: '20' });
  const log = new MemoryLog();
  let server: Server;
  let url = '';
  let prepared: PreparedModels;
  let dataset: LoadedDataset;

  const newKnnVersion = async (neighbours: number, at: string): Promise<string> => {
    const spec = modelSpec('knn', { ...cfg.models, knnNeighbours: neighbours });
    const saved = await saveArtifact(dir, spec, trainModel(spec, dataset.interactions).state, dataset.interactions.items.ids, datasetInfo(dataset), 1, new Date(at));
    return saved.metadata.version;
  };
  const servedBy = async (path: string): Promise<unknown> => {
    const res = await rawRequest(url, path, { headers: { ...AUTH, 'User-Agent': path } });
    assert.equal(res.status, 200, res.body);
    const line = await log.waitFor((r) => accessRecords([r]).length === 1 && field(r, 'user_agent.original') === path);
    return field(line, 'reco.model_version');
  };

  before(async () => {
    registerSecret(API_KEY);
    registerSecret(ADMIN_KEY);
    log.attach();
    dataset = await loadDataset(cfg.dataset);
    prepared = await prepareModels(cfg, logger, { dataset, models: ['popular', 'knn'] });
    const app = createApp({ models: prepared.registry, apiKey: API_KEY, kRecs: 10, admin: { apiKey: ADMIN_KEY, reload: () => prepared.registry.reload() } });
    server = await listen(app, 0, '127.0.0.1');
    url = serverUrl(server);
  });
  after(async () => {
    await drain(server, 5_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('every access line names the version that served, and the public path takes names only', async () => {
    const production = (await openModelRegistry(dir).state('knn')).aliases.production;
    assert.ok(production !== undefined);
    assert.equal(await servedBy('/reco/knn/1'), production);
    const ref = await rawRequest(url, `/reco/knn@${production}/1`, { headers: AUTH });
    assert.equal(ref.status, 404, 'a ref is not a public model name');
  });

  it('the admin endpoint wants its own key: none, or the API key, is 401', async () => {
    for (const headers of [{}, AUTH]) {
      const res = await rawRequest(url, ADMIN_RELOAD_PATH, { method: 'POST', headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
    }
  });

  it('promote, then POST the reload: 200 with the change, and the next request is served by the new version', async () => {
    const store = openModelRegistry(dir);
    const before = (await store.state('knn')).aliases.production as string;
    const next = await newKnnVersion(5, '2031-01-01T00:00:00Z');
    await store.promote('knn', next);
    const res = await rawRequest(url, ADMIN_RELOAD_PATH, { method: 'POST', headers: ADMIN });
    assert.equal(res.status, 200, res.body);
    const body = res.json() as { changed: { ref: string; from: string; to: string }[]; serving: Record<string, string> };
    assert.deepEqual(body.changed.find((c) => c.ref === 'knn'), { ref: 'knn', from: before, to: next });
    assert.equal(body.serving.knn, next);
    assert.equal(await servedBy('/reco/knn/2'), next);
    const promoted = await log.waitFor((r) => field(r, 'event.action') === MODEL_PROMOTED_ACTION && field(r, 'recoscope.model.to') === next);
    assert.equal(field(promoted, 'recoscope.model.from'), before);
  });

  it('a corrupt version is refused with 409 saying why; the old one keeps serving', async () => {
    const store = openModelRegistry(dir);
    const serving = (await store.state('knn')).aliases.production as string;
    const bad = await newKnnVersion(6, '2031-02-01T00:00:00Z');
    writeFileSync(join(dir, 'knn', bad, 'model.bin'), 'garbage');
    await store.promote('knn', bad);
    const res = await rawRequest(url, ADMIN_RELOAD_PATH, { method: 'POST', headers: ADMIN });
    assert.equal(res.status, 409, res.body);
    assert.match(res.body, new RegExp(`knn: ${bad} refused \\(checksum mismatch[^)]*\\), ${serving} keeps serving`));
    assert.equal(await servedBy('/reco/knn/3'), serving);
    const refusal = await log.waitFor((r) => field(r, 'event.action') === 'model-refused' && field(r, 'recoscope.model.to') === bad);
    assert.equal(field(refusal, 'log.level'), 'warn');
    assert.ok(!log.records.some((r) => JSON.stringify(r).includes(ADMIN_KEY)), 'the admin key is never logged');
  });
});
