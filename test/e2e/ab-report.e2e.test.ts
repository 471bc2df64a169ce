/**
 * The A/B report end to end on real parts: the compiled service serves a three-arm experiment
 * (70/20/10) on the train part of a synthetic dataset, the online simulator replays the
 * held-out week of ≥ 10 000 users through it (a click per recommended item in the user's
 * future), a real Filebeat ships the NDJSON lines to a real Elasticsearch, and
 * `npm run ab:report` (its compiled CLI, as a user runs it) reports on them.
 *
 * A real Prometheus scrapes the service; a second report takes its latency from there.
 *
 * Checks: the report's per-arm counts equal Elasticsearch's own count API with a term filter
 * per arm (and what the simulator sent); the split is within ±1.5 points of the weights; every
 * click in the report joins to an access line (no orphans, clicked ids = recommendations the
 * simulator clicked).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, LOGS_INDEX } from '../../elk/client';
import { setupElk } from '../../elk/setup';
import type { AbReport } from '../../abtest/report';
import { accessQuery, clickQuery } from '../../abtest/elasticsearch';
import { simulate, type SimulationResult } from '../../loadtest/simulate';
import { armFor, readExperimentsFile } from '../../src/experiments';
import { compiled, PROJECT_ROOT } from '../../src/paths';
import { abWorld, type AbWorld, type ExperimentSpec } from '../helpers/ab';
import type { RunningService } from '../helpers/service';
import { startPrometheus, type TestPrometheus } from './prometheus-helpers';
import { createStack, freePort, orphans, removeStack, stackDown, stackUp, startService, waitFor, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const API_KEY = 'ab-report-e2e-key-0123456789';
const EXPERIMENT: ExperimentSpec = {
  name: 'homepage',
  salt: '2026-12',
  arms: [
    { name: 'control', model: 'knn@production', weight: 70 },
    { name: 'treatment', model: 'knn_cosine', weight: 20 },
    { name: 'baseline', model: 'popular', weight: 10 },
  ],
};
/** 22 000 synthetic users: 10 406 of them are active in the held-out week. */
const DATASET = { users: 22_000, items: 800, interactions: 220_000, seed: 5 };

describe('ab:report on the real stack: three arms under the simulator', { timeout: 60 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let service: RunningService | undefined;
  let world: AbWorld;
  let sim: SimulationResult;
  let report: AbReport;
  let promReport: AbReport;
  let prometheus: TestPrometheus | undefined;

  before(async () => {
    stack = await createStack('abreport');
    await stackUp(['es'], stack.env);
    es = createElasticsearchClient({ url: stack.esUrl });
    await setupElk(es, join(PROJECT_ROOT, 'elk', 'index-templates'));
    await stackUp(['filebeat'], stack.env);
    const dataDir = join(stack.runDir, 'ab-data');
    mkdirSync(dataDir, { recursive: true });
    world = await abWorld(dataDir, DATASET, [EXPERIMENT]);
    const metricsPort = await freePort();
    service = await startService(stack, {
      env: {
        API_KEY,
        LOG_LEVEL: 'info',
        DATASET: world.trainCsv,
        EXPERIMENTS_FILE: world.experimentsFile,
        ARTIFACTS_DIR: join(dataDir, 'artifacts'),
        METRICS_PORT: String(metricsPort),
      },
      timeoutMs: 180_000,
    });
    prometheus = await startPrometheus({ label: 'abreport', targets: [`127.0.0.1:${metricsPort}`] });
    const simStarted = new Date();
    sim = await simulate({ url: service.url, apiKey: API_KEY, route: EXPERIMENT.name, users: world.users, concurrency: 8 });
    const clickLines = sim.clicks;
    // Filebeat ships asynchronously: wait (with a deadline) until every line is in.
    await waitFor(
      async () => {
        await es.indices.refresh({ index: LOGS_INDEX });
        const access = (await es.count({ index: LOGS_INDEX, query: accessQuery(EXPERIMENT.name) })).count;
        const clicks = (await es.count({ index: LOGS_INDEX, query: clickQuery() })).count;
        return access === sim.requests && clicks === clickLines;
      },
      10 * 60_000,
      `${sim.requests} access lines and ${clickLines} click lines in Elasticsearch`,
      2_000,
    );
    // And until Prometheus has scraped every request of the experiment.
    await waitFor(
      async () => {
        const samples = await prometheus!.query(`sum(http_server_request_duration_seconds_count{arm=~"control|treatment|baseline"})`);
        return Number(samples[0]?.value[1] ?? 0) === sim.requests;
      },
      120_000,
      `Prometheus counting ${sim.requests} experiment requests`,
      1_000,
    );
    const runReport = async (name: string, extra: string[]): Promise<AbReport> => {
      const out = join(dataDir, `${name}.json`);
      const { stdout } = await execFileAsync(
        process.execPath,
        [compiled('abtest/cli'), '--experiment', EXPERIMENT.name, '--experiments', world.experimentsFile, '--json', out, '--artifacts', join(dataDir, 'artifacts'), ...extra],
        { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ELASTICSEARCH_URL: stack.esUrl }, timeout: 120_000 },
      );
      console.log(stdout);
      return JSON.parse(readFileSync(out, 'utf8')) as AbReport;
    };
    report = await runReport('report', ['--markdown', join(dataDir, 'report.md'), '--html', join(dataDir, 'report.html')]);
    // The window starts a minute before the load: increase() needs the samples before it.
    const from = new Date(simStarted.getTime() - 60_000).toISOString();
    promReport = await runReport('report-prometheus', ['--prometheus', prometheus.url, '--from', from, '--to', new Date().toISOString()]);
  });

  after(async () => {
    if (prometheus !== undefined) {
      await prometheus.stop();
      rmSync(prometheus.runDir, { recursive: true, force: true });
    }
    if (service !== undefined && service.child.exitCode === null && service.child.signalCode === null) await service.stop('SIGTERM');
    await es?.close();
    if (stack !== undefined) {
      await stackDown(['es', 'filebeat'], stack.env);
      assert.deepEqual(orphans(stack), [], 'no process of the test stack survives stack down');
      removeStack(stack);
    }
  });

  it('the simulator replayed ≥ 10 000 users, every request and feedback accepted', () => {
    assert.ok(world.users.length >= 10_000, `${world.users.length} users`);
    assert.deepEqual(sim.statuses, { 200: world.users.length });
    assert.deepEqual(sim.feedbackFailures, {});
  });

  it("the report's per-arm counts equal Elasticsearch's count API per arm", async () => {
    assert.deepEqual(report.arms.map((a) => a.arm).sort(), EXPERIMENT.arms.map((a) => a.name).sort());
    for (const arm of report.arms) {
      const base = accessQuery(EXPERIMENT.name);
      const filter = [...(base.bool?.filter as object[]), { term: { 'reco.arm': arm.arm } }];
      const requests = (await es.count({ index: LOGS_INDEX, query: { bool: { filter } } })).count;
      const recos = (await es.count({ index: LOGS_INDEX, query: { bool: { filter: [...filter, { exists: { field: 'reco.recommendation_id' } }] } } })).count;
      assert.equal(arm.requests, requests, `${arm.arm}: requests`);
      assert.equal(arm.recommendations, recos, `${arm.arm}: recommendations`);
      assert.equal(arm.errors, 0, `${arm.arm}: 5xx`);
    }
  });

  it('the counts are what the simulator sent: per arm by armFor, requests and clicked recommendations', () => {
    const [experiment] = readExperimentsFile(world.experimentsFile);
    assert.ok(experiment);
    const sent = new Map<string, { requests: number; clicked: number }>();
    for (const rec of sim.recommendations) {
      const arm = armFor(experiment, rec.userId).name;
      const s = sent.get(arm) ?? { requests: 0, clicked: 0 };
      s.requests++;
      if (rec.clicks.length > 0) s.clicked++;
      sent.set(arm, s);
    }
    for (const arm of report.arms) assert.deepEqual({ requests: arm.requests, clicked: arm.clicked }, sent.get(arm.arm), arm.arm);
  });

  it('the split is within ±1.5 points of the weights over ≥ 10 000 users', () => {
    const total = report.arms.reduce((s, a) => s + a.requests, 0);
    assert.ok(total >= 10_000, `${total} users`);
    for (const arm of EXPERIMENT.arms) {
      const row = report.arms.find((a) => a.arm === arm.name);
      const share = (row?.requests ?? 0) / total;
      assert.ok(Math.abs(share - arm.weight / 100) <= 0.015, `${arm.name}: ${(share * 100).toFixed(2)} % for weight ${arm.weight} %`);
    }
  });

  it('with --prometheus: the same counts, and p50 ≤ p99 per arm from the histogram', () => {
    assert.match(promReport.latencySource, /^Prometheus /);
    for (const arm of promReport.arms) {
      const es = report.arms.find((a) => a.arm === arm.arm);
      assert.deepEqual([arm.requests, arm.clicked], [es?.requests, es?.clicked], arm.arm);
      assert.ok(arm.latencyMs !== undefined && arm.latencyMs.p50 > 0 && arm.latencyMs.p50 <= arm.latencyMs.p99, `${arm.arm}: ${JSON.stringify(arm.latencyMs)}`);
    }
  });

  it('every click in the report joins to an access line', () => {
    assert.equal(report.orphanClicks, 0);
    assert.equal(report.clickedIds, sim.clickedRecommendations);
    assert.equal(report.arms.reduce((s, a) => s + a.clicked, 0), report.clickedIds);
  });
});
