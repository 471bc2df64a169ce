/**
 * What the user sees when a load test or a profile cannot run: one line on stderr, a non-zero
 * exit, no half-written run folder and no process left behind (checked with ps).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_SCENARIOS_FILE, loadScenarioFile } from '../../loadtest/scenarios';
import { freePort } from '../../loadtest/child-server';
import { LOAD_CLI, PROFILE_CLI, SMALL_PROFILE_ENV, cliEnv, lines, orphansOf, runCli } from '../helpers/profiling';
import { startService } from '../helpers/service';

const scratch = mkdtempSync(join(tmpdir(), 'recoscope-profile-failures-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A profiles folder of its own per case, so ps can tell this case's processes apart. */
function profilesDir(name: string): string {
  return join(scratch, name);
}

function assertOneLine(stderr: string, prefix: string, pattern: RegExp): void {
  const errorLines = lines(stderr);
  assert.equal(errorLines.length, 1, `exactly one line on stderr, got:\n${stderr}`);
  assert.ok(errorLines[0]?.startsWith(`${prefix}: `), errorLines[0]);
  assert.match(errorLines[0] as string, pattern);
}

function runFolders(dir: string, scenario: string): string[] {
  const scenarioDir = join(dir, scenario);
  return existsSync(scenarioDir) ? readdirSync(scenarioDir) : [];
}

describe('profile failure paths', () => {
  it('unknown scenario: exit 2, one line naming the known ones', async () => {
    const dir = profilesDir('unknown');
    const result = await runCli(PROFILE_CLI, ['nope', '--profiles-dir', dir], cliEnv(SMALL_PROFILE_ENV), 60_000);
    assert.equal(result.code, 2);
    // Every scenario of loadtest/scenarios.json, in file order.
    const known = [...loadScenarioFile().scenarios.keys()];
    assert.ok(known.includes('knn') && known.includes('health'), known.join(', '));
    assertOneLine(result.stderr, 'profile', new RegExp(`unknown scenario 'nope' \\(known: ${known.join(', ')}\\)`));
    assert.ok(!existsSync(dir), 'nothing written');
  });

  it('port in use: exit 1, one line, nothing started', async () => {
    const dir = profilesDir('port');
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolveListen) =>
      blocker.listen(0, '127.0.0.1', () => resolveListen((blocker.address() as { port: number }).port)),
    );
    try {
      const result = await runCli(PROFILE_CLI, ['health', '--port', String(port), '--duration', '1', '--warmup', '0', '--profiles-dir', dir], cliEnv(SMALL_PROFILE_ENV), 60_000);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, 'profile', new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.deepEqual(await orphansOf(dir), []);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('service fails to start (bad env): exit 1, the service’s reason on one line, no orphans, no run folder', { timeout: 120_000 }, async () => {
    const dir = profilesDir('bad-env');
    const result = await runCli(PROFILE_CLI, ['knn', '--duration', '1', '--warmup', '0', '--profiles-dir', dir], cliEnv({ ...SMALL_PROFILE_ENV, KNN_NEIGHBOURS: '0' }), 120_000);
    assert.equal(result.code, 1, result.stderr);
    assertOneLine(result.stderr, 'profile', /the service exited with code 2 before it was ready: .*KNN_NEIGHBOURS/);
    assert.deepEqual(await orphansOf(dir), []);
    assert.deepEqual(runFolders(dir, 'knn'), [], 'the failed run folder is removed');
  });

  it('every request fails under load: exit 1, one line with the status codes, no orphans', { timeout: 120_000 }, async () => {
    const dir = profilesDir('all-fail');
    const scenarios = join(scratch, 'broken-scenarios.json');
    const defaults = (JSON.parse(readFileSync(DEFAULT_SCENARIOS_FILE, 'utf8')) as { defaults: unknown }).defaults;
    writeFileSync(scenarios, JSON.stringify({ defaults, scenarios: { broken: { requests: [{ path: '/no/such/route', weight: 1 }] } } }));
    const result = await runCli(
      PROFILE_CLI,
      ['broken', '--scenarios', scenarios, '--duration', '1', '--warmup', '1', '--profiles-dir', dir],
      cliEnv(SMALL_PROFILE_ENV),
      120_000,
    );
    assert.equal(result.code, 1, result.stderr);
    assertOneLine(result.stderr, 'profile', /every request failed during the warm-up .*× 404/);
    assert.deepEqual(await orphansOf(dir), []);
    assert.deepEqual(runFolders(dir, 'broken'), []);
  });
});

describe('npm run load', () => {
  it('connection refused: exit 1, one line', async () => {
    const port = await freePort();
    const result = await runCli(LOAD_CLI, ['knn', '--url', `http://127.0.0.1:${port}`, '--key', 'some-api-key', '--duration', '1', '--warmup', '0'], cliEnv({}), 60_000);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, 'load', /cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it('a reco scenario without an API key: exit 2, one line', async () => {
    const result = await runCli(LOAD_CLI, ['knn', '--url', 'http://127.0.0.1:9'], cliEnv({}), 60_000);
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, 'load', /needs the service's API key/);
  });

  it('runs the mixed scenario against the service and writes the JSON summary', { timeout: 120_000 }, async () => {
    const apiKey = 'load-test-key-123';
    const service = await startService({ env: { API_KEY: apiKey } });
    try {
      const out = join(scratch, 'mixed.json');
      const result = await runCli(
        LOAD_CLI,
        ['mixed', '--url', service.url, '--key', apiKey, '--duration', '2', '--warmup', '1', '--connections', '4', '--users', '2000', '--out', out],
        cliEnv({}),
        60_000,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /Latency/, "autocannon's table");
      const summary = JSON.parse(readFileSync(out, 'utf8')) as {
        scenario: string;
        totalRequests: number;
        rps: number;
        errors: number;
        non2xx: number;
        latencyMs: Record<string, number>;
        requestMix: Record<string, number>;
        statusCodes: Record<string, number>;
        coldRequests: number;
      };
      assert.equal(summary.scenario, 'mixed');
      assert.ok(summary.totalRequests > 0 && summary.rps > 0);
      assert.deepEqual(Object.keys(summary.statusCodes), ['200'], 'known and cold users both get recommendations');
      assert.equal(summary.non2xx, 0);
      for (const p of ['p50', 'p90', 'p99']) assert.equal(typeof summary.latencyMs[p], 'number');
      const mix = summary.requestMix;
      assert.deepEqual(Object.keys(mix).sort(), ['/health', '/reco/knn/{user_id}', '/reco/popular/{user_id}']);
      const knn = mix['/reco/knn/{user_id}'] ?? 0;
      const health = mix['/health'] ?? 0;
      assert.ok(knn > health, `60% knn vs 10% health: ${JSON.stringify(mix)}`);
      assert.ok(summary.coldRequests > 0, 'some requests are for unknown users');
    } finally {
      await service.stop();
    }
  });
});
