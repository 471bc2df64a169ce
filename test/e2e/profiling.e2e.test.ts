/**
 * Continuous profiling end to end, on real parts: the compiled service with PROFILING_ENABLED
 * and a slow path injected for users divisible by 7 → its traces through a real collector to a
 * real Jaeger, its log (access lines and the profile-written metadata lines) through a real
 * Filebeat to a real Elasticsearch. The walk: a slow request's access line in Elasticsearch →
 * its trace in Jaeger → the server span's profile.id → `profile:trace` of that trace, whose
 * flamegraph has the injected frame as the top self-time frame of our code; a fast trace's
 * does not. `profile:window` and `profile:compare` then read the same profiles.
 *
 * No timing is asserted: waits are bounded only so a broken run ends.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import { LOGS_INDEX } from '../../elk/client';
import type { LogDocument } from '../../elk/log-search';
import { ownFrames } from '../../profiles/continuous';
import { frameShares, parseFolded } from '../../profiles/folded';
import { ACCESS_DATASET, ROUTES } from '../../src/contracts';
import { PROJECT_ROOT } from '../../src/paths';
import { PROFILE_ID_ATTRIBUTE, PROFILE_WRITTEN_ACTION, type ProfileMetadata } from '../../src/profiling/labels';
import { rawRequest, type RawResponse } from '../helpers/http';
import { field, type RunningService } from '../helpers/service';
import { collectorOtlpUrl, requestTree, tag, upTracePipeline, waitForJaegerTrace } from './jaeger-helpers';
import { createStack, orphans, removeStack, stackDown, startService, waitFor, type Component, type TestStack } from './stack';

const execFileAsync = promisify(execFile);
const API_KEY = 'e2e-profiling-key-5f1c8e02';
const AUTH = { Authorization: `Bearer ${API_KEY}` };
const COMPONENTS: Component[] = ['es', 'jaeger', 'otelcol', 'filebeat'];
const INJECTED_FRAME = 'injectedSlowPath src/models/fault-injection.ts';
const CLI = join(PROJECT_ROOT, 'dist', 'profiles', 'continuous-cli.js');
const COMPARE_CLI = join(PROJECT_ROOT, 'dist', 'profiles', 'compare-cli.js');

function traceIdOf(res: RawResponse): string {
  const id = String(res.headers['x-trace-id']);
  assert.match(id, /^[0-9a-f]{32}$/, 'x-trace-id response header');
  return id;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(file: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [file, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('continuous profiling: from a slow trace to its own flamegraph', { timeout: 60 * 60_000 }, () => {
  let stack: TestStack;
  let es: Client;
  let jaeger: string;
  let service: RunningService | undefined;
  let runsDir: string;
  let slow: RawResponse;
  let fast: RawResponse;
  let firstRequestAt: Date;

  before(async () => {
    stack = await createStack('profiling');
    ({ es, jaeger } = await upTracePipeline(stack));
    runsDir = join(stack.runDir, 'profile-runs');
    service = await startService(stack, {
      env: {
        API_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorOtlpUrl(stack.env),
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SERVICE_ENVIRONMENT: 'e2e',
        PROFILING_ENABLED: 'true',
        PROFILING_PERIOD_S: '2',
        PROFILING_DIR: join(stack.runDir, 'profile-store'),
        SLOW_USER_DIVISOR: '7',
        SLOW_USER_MS: '400',
      },
    });
    firstRequestAt = new Date();
    // Warm the JIT on the fast path first, so the fast trace below is a steady-state request.
    for (let user = 1; user <= 40; user++) if (user % 7 !== 0) await rawRequest(service.url, `/reco/knn/${user}`, { headers: AUTH });
    slow = await rawRequest(service.url, '/reco/knn/700', { headers: AUTH });
    fast = await rawRequest(service.url, '/reco/knn/2', { headers: AUTH });
    assert.equal(slow.status, 200);
    assert.equal(fast.status, 200);
  });

  after(async () => {
    await service?.stop();
    await es?.close();
    if (stack !== undefined) {
      await stackDown(COMPONENTS, stack.env);
      assert.deepEqual(orphans(stack), [], 'no process of the test stack survives stack down');
      removeStack(stack);
    }
  });

  it('the slow request: access line in Elasticsearch → trace in Jaeger → profile.id → its flamegraph shows the injected frame on top', async () => {
    const traceId = traceIdOf(slow);
    // The incident walk's log line: the slow request's access document, found by its trace id.
    const doc = await waitFor(
      async () => {
        await es.indices.refresh({ index: LOGS_INDEX });
        const found = await es.search<LogDocument>({
          index: LOGS_INDEX,
          query: { bool: { filter: [{ term: { 'event.dataset': ACCESS_DATASET } }, { term: { 'trace.id': traceId } }] } },
        });
        return found.hits.hits[0]?._source;
      },
      120_000,
      'the slow request’s access document in Elasticsearch',
    );
    assert.equal(field(doc, 'url.path'), '/reco/knn/700');

    // Its trace: the server span carries the id of the profile recording when it started.
    const trace = await waitForJaegerTrace(jaeger, String(field(doc, 'trace.id')), 3);
    const server = requestTree(trace, ROUTES.reco).server;
    const profileId = String(tag(server, PROFILE_ID_ATTRIBUTE));
    assert.match(profileId, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/, `${PROFILE_ID_ATTRIBUTE} on the server span`);

    // That profile is indexed in Elasticsearch (its metadata line, shipped by Filebeat).
    const indexed = await waitFor(
      async () => {
        await es.indices.refresh({ index: LOGS_INDEX });
        const found = await es.search<{ recoscope?: { profile?: ProfileMetadata } }>({
          index: LOGS_INDEX,
          query: { bool: { filter: [{ term: { 'event.action': PROFILE_WRITTEN_ACTION } }, { term: { 'recoscope.profile.id': profileId } }] } },
        });
        return found.hits.hits[0]?._source?.recoscope?.profile;
      },
      120_000,
      `profile ${profileId} in Elasticsearch`,
    );
    assert.ok(existsSync(join(indexed.store, indexed.file)), `${indexed.file} is in the store`);

    const result = await cli(CLI, ['trace', traceId, '--wait', '120', '--profiles-dir', runsDir], { ELASTICSEARCH_URL: stack.esUrl });
    assert.equal(result.code, 0, `profile:trace failed: ${result.stderr}`);
    // Printed as TAP diagnostics: the page docs/continuous-profiling.md quotes.
    console.log(`profile:trace ${traceId} (slow, user 700):\n${result.stdout}`);
    const runDir = join(runsDir, 'trace', traceId);
    const folded = parseFolded(readFileSync(join(runDir, 'stacks.folded'), 'utf8'));
    const own = ownFrames(frameShares(folded));
    assert.equal(own[0]?.frame, INJECTED_FRAME, `top self-time frame of our code:\n${result.stdout}`);
    assert.ok(existsSync(join(runDir, 'flamegraph.html')));
    assert.match(result.stdout, /injectedSlowPath src\/models\/fault-injection\.ts/);
  });

  it('a fast trace’s flamegraph does not show the injected frame', async () => {
    const traceId = traceIdOf(fast);
    await waitForJaegerTrace(jaeger, traceId, 3);
    // Wait until the profile cut after the fast request is indexed: only then can the answer be final.
    const after = new Date();
    await waitFor(
      async () => {
        await es.indices.refresh({ index: LOGS_INDEX });
        const found = await es.count({
          index: LOGS_INDEX,
          query: { bool: { filter: [{ term: { 'event.action': PROFILE_WRITTEN_ACTION } }, { range: { 'recoscope.profile.end': { gt: after.toISOString() } } }] } },
        });
        return found.count > 0;
      },
      120_000,
      'a profile cut after the fast request, in Elasticsearch',
    );
    const result = await cli(CLI, ['trace', traceId, '--profiles-dir', runsDir], { ELASTICSEARCH_URL: stack.esUrl });
    console.log(`profile:trace ${traceId} (fast, user 2): exit ${result.code}\n${result.stdout}${result.stderr}`);
    if (result.code === 0) {
      const folded = parseFolded(readFileSync(join(runsDir, 'trace', traceId, 'stacks.folded'), 'utf8'));
      assert.ok(![...folded.keys()].some((stack) => stack.includes(INJECTED_FRAME)), `fast trace's stacks:\n${result.stdout}`);
      assert.ok(!result.stdout.includes('injectedSlowPath'), result.stdout);
    } else {
      // A request shorter than the sampling interval may have no sample at all: then no
      // profile names the trace, and the tool says so (exit 1) instead of drawing anything.
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /no continuous profile matches/);
    }
  });

  it('profile:window renders the route over the run, and profile:compare takes a trace run and a window run', async () => {
    const from = new Date(firstRequestAt.getTime() - 1000).toISOString();
    const to = new Date().toISOString();
    const window = await cli(CLI, ['window', '--from', from, '--to', to, '--route', ROUTES.reco, '--model', 'knn', '--profiles-dir', runsDir], {
      ELASTICSEARCH_URL: stack.esUrl,
    });
    assert.equal(window.code, 0, `profile:window failed: ${window.stderr}`);
    const windowDir = join(runsDir, 'window', 'latest');
    const folded = parseFolded(readFileSync(join(windowDir, 'stacks.folded'), 'utf8'));
    // The window holds the slow request too: the injected frame is in it.
    assert.ok([...folded.keys()].some((s) => s.includes(INJECTED_FRAME)), window.stdout);
    const compare = await cli(COMPARE_CLI, [join(runsDir, 'window', 'latest'), join(runsDir, 'trace', traceIdOf(slow)), '--profiles-dir', runsDir], {});
    assert.equal(compare.code, 0, `profile:compare failed: ${compare.stderr}`);
    assert.match(compare.stdout, /injectedSlowPath/);
  });
});
