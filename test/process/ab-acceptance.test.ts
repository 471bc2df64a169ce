/**
 * The A/B report's acceptance on the real compiled service: the simulator replays the held-out
 * week of a synthetic dataset through experiment routes, and the report's computation reads
 * the very NDJSON lines the service wrote (access lines joined with feedback lines).
 *
 *  - A/A: ten experiments whose two arms serve the same model, each with its own salt: the
 *    report must find no significant difference at alpha 0.05 in at least nine of ten (with a
 *    valid test each is significant with probability 0.05, so ≥ 9 of 10 holds with
 *    probability 0.914; the salts are fixed, so the outcome is too).
 *  - A/B: popular against knn: the report must call it significant.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport, countsFromDocuments, renderTerminal, type AbReport } from '../../abtest/report';
import { simulate } from '../../loadtest/simulate';
import { abWorld, type ExperimentSpec } from '../helpers/ab';
import { readLogFile, startService, type RunningService } from '../helpers/service';

const API_KEY = 'ab-acceptance-key-0123456789';
const SALTS = Array.from({ length: 10 }, (_, i) => `aa-salt-${i + 1}`);
const AA: ExperimentSpec[] = SALTS.map((salt, i) => ({
  name: `aa${i}`,
  salt,
  arms: [
    { name: `aa${i}-control`, model: 'knn', weight: 50 },
    { name: `aa${i}-same`, model: 'knn', weight: 50 },
  ],
}));
const AB: ExperimentSpec = {
  name: 'worse',
  salt: 'ab-salt-1',
  arms: [
    { name: 'worse-control', model: 'knn', weight: 50 },
    { name: 'worse-popular', model: 'popular', weight: 50 },
  ],
};

describe('A/A and A/B through the simulator and the report', { timeout: 20 * 60_000 }, () => {
  let dir: string;
  let service: RunningService | undefined;
  const reports = new Map<string, AbReport>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recoscope-ab-'));
    const world = await abWorld(dir, { users: 6000, items: 500, interactions: 60_000, seed: 11 }, [...AA, AB]);
    service = await startService({
      env: { DATASET: world.trainCsv, EXPERIMENTS_FILE: world.experimentsFile, API_KEY, LOG_LEVEL: 'info', LOG_DIR: join(dir, 'logs') },
      timeoutMs: 120_000,
    });
    for (const experiment of [...AA, AB]) {
      const result = await simulate({ url: service.url, apiKey: API_KEY, route: experiment.name, users: world.users, concurrency: 4 });
      assert.deepEqual(result.statuses, { 200: world.users.length }, `${experiment.name}: every recommendation answered 200`);
      assert.deepEqual(result.feedbackFailures, {}, `${experiment.name}: every feedback accepted`);
    }
    // SIGTERM flushes every line to the file before the process exits.
    assert.equal(await service.stop('SIGTERM'), 0);
    const documents = readLogFile(service.logFile);
    for (const experiment of [...AA, AB]) {
      const counts = countsFromDocuments(documents, experiment.name);
      reports.set(experiment.name, buildReport(counts, { control: experiment.arms[0]?.name, source: `log file of the test service` }));
    }
  });
  after(async () => {
    if (service !== undefined && service.child.exitCode === null) await service.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('A/A: not significant at alpha 0.05 in at least 9 of 10 salts', (t) => {
    const verdicts = AA.map((e) => reports.get(e.name)?.arms[1]);
    const lines = verdicts.map((row, i) => `${AA[i]?.salt}: ${row?.verdict} p=${row?.pValue?.toFixed(4)} (${row?.clicked}/${row?.recommendations} vs control)`);
    for (const line of lines) t.diagnostic(line);
    assert.ok(verdicts.every((row) => row?.verdict === 'significant' || row?.verdict === 'not significant'), `every salt has enough data:\n${lines.join('\n')}`);
    const notSignificant = verdicts.filter((row) => row?.verdict === 'not significant').length;
    assert.ok(notSignificant >= 9, `only ${notSignificant} of 10 A/A salts not significant:\n${lines.join('\n')}`);
  });

  it('A/B: popular against knn is significant', (t) => {
    const report = reports.get(AB.name) as AbReport;
    for (const line of renderTerminal(report).split('\n')) t.diagnostic(line);
    const popular = report.arms.find((a) => a.arm === 'worse-popular');
    assert.equal(popular?.verdict, 'significant', renderTerminal(report));
    assert.ok((popular?.difference ?? 0) < 0, 'popular is the worse arm');
  });

  it('every click in the reports joins to an access line', () => {
    for (const [name, report] of reports) assert.equal(report.orphanClicks, 0, name);
  });
});
