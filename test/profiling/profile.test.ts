/**
 * Real profiles, end to end: the compiled service under 0x with autocannon load, twice for
 * knn and once for popular, then the comparison pages opened in headless Chromium.
 * Everything goes to a temporary profiles folder; nothing here asserts wall-clock time.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { busyFrames, frameShares, parseFolded, totalSamples, type FrameShare } from '../../profiles/folded';
import { COMPARE_CLI, KNN_HEAVY_ENV, PROFILE_CLI, cliEnv, lines, orphansOf, runCli } from '../helpers/profiling';
import { PROJECT_ROOT } from '../../src/paths';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KNN_SCORING = 'scoreStage src/models/knn.ts';

const profilesDir = mkdtempSync(join(tmpdir(), 'recoscope-profiles-'));
const env = cliEnv(KNN_HEAVY_ENV);
const runs: Record<string, string[]> = { knn: [], popular: [] };

after(() => {
  if (process.env.KEEP_TEST_PROFILES === undefined) rmSync(profilesDir, { recursive: true, force: true });
  else process.stdout.write(`# profiles kept in ${profilesDir}\n`);
});

async function profile(scenario: string): Promise<string> {
  const result = await runCli(PROFILE_CLI, [scenario, '--duration', '5', '--warmup', '2', '--profiles-dir', profilesDir], env);
  assert.equal(result.code, 0, `profile ${scenario} failed:\n${result.stderr}\n${result.stdout}`);
  assert.equal(result.stderr.trim(), '', 'a successful profile writes nothing on stderr');
  assert.match(result.stdout, new RegExp(`${scenario}: [\\d.]+ req/s under profiling`));
  const html = /^flamegraph: (.+)$/m.exec(result.stdout)?.[1];
  assert.ok(html !== undefined && html.endsWith('flamegraph.html'), result.stdout);
  const runDir = join(profilesDir, scenario, realpathSync(join(profilesDir, scenario, 'latest')).split('/').at(-1) as string);
  assert.equal(realpathSync(html), realpathSync(join(runDir, 'flamegraph.html')), 'latest points at the run just made');
  assert.deepEqual(await orphansOf(profilesDir), [], 'no process of the run is left');
  runs[scenario]?.push(runDir);
  return runDir;
}

function shares(runDir: string): FrameShare[] {
  return busyFrames(frameShares(parseFolded(readFileSync(join(runDir, 'stacks.folded'), 'utf8'))));
}

/**
 * Two runs' top-n frames, compared as sets of names. On this shared two-core machine frames
 * around the n-th place are often within a point of each other and swap places between runs,
 * so a frame may be missing from the other run's top n only if it missed it narrowly (within
 * `tolerance` of the n-th share there). Between two 5 s runs one frame's share moves by up to
 * ~1–1.5 points (seen in CI: 2.3% ↔ 3.3%), so the gap between two frames by up to twice that.
 * Names that failed to line up (line numbers, JIT markers, absolute paths) would be absent
 * altogether and fail whatever the tolerance.
 */
function topAgreement(a: FrameShare[], b: FrameShare[], n: number, tolerance: number): string[] {
  const problems: string[] = [];
  const check = (x: FrameShare[], y: FrameShare[], xName: string, yName: string): void => {
    const yTop = new Set(y.slice(0, n).map((f) => f.frame));
    const nth = y[n - 1]?.selfShare ?? 0;
    for (const f of x.slice(0, n)) {
      if (yTop.has(f.frame)) continue;
      const inY = y.find((g) => g.frame === f.frame);
      if (inY === undefined) problems.push(`${xName}'s top frame '${f.frame}' does not exist in ${yName}`);
      else if (nth - inY.selfShare > tolerance) {
        problems.push(`${xName}'s top frame '${f.frame}' has ${(inY.selfShare * 100).toFixed(1)}% in ${yName}, ${yName}'s #${n} has ${(nth * 100).toFixed(1)}%`);
      }
    }
  };
  check(a, b, 'run 1', 'run 2');
  check(b, a, 'run 2', 'run 1');
  return problems;
}

describe('npm run profile', () => {
  it('profiles knn: run folder complete, normalised stacks, kNN scoring among the top frames', { timeout: 240_000 }, async () => {
    const runDir = await profile('knn');
    for (const file of ['flamegraph.html', 'stacks.folded', 'load-summary.json', 'meta.json']) {
      assert.ok(existsSync(join(runDir, file)), `${file} in ${runDir}`);
    }
    assert.deepEqual(readdirSync(runDir).sort(), ['flamegraph.html', 'load-summary.json', 'meta.json', 'stacks.folded']);
    assert.match(readFileSync(join(runDir, 'flamegraph.html'), 'utf8').slice(0, 2000), /<html/i);

    const folded = readFileSync(join(runDir, 'stacks.folded'), 'utf8');
    for (const line of lines(folded)) {
      assert.match(line, /^[^;]+(;[^;]+)* \d+$/, `folded line: ${line.slice(0, 200)}`);
      for (const frame of line.replace(/ \d+$/, '').split(';')) {
        assert.doesNotMatch(frame, /:\d+:\d+$|:\d+$/, `no line:col in '${frame}'`);
        assert.doesNotMatch(frame, /^[*~^]/, `no optimisation marker in '${frame}'`);
        assert.doesNotMatch(frame, /\[INIT\]|\[INLINABLE\]|\[CPP\]|\[SHARED_LIB\]|\[CODE:/, `normalised label in '${frame}'`);
        assert.ok(!frame.includes(PROJECT_ROOT), `no absolute project path in '${frame}'`);
        assert.doesNotMatch(frame, / \//, `no absolute path in '${frame}'`);
      }
    }

    const meta = JSON.parse(readFileSync(join(runDir, 'meta.json'), 'utf8')) as Record<string, unknown> & {
      git: { sha: string; short: string; dirty: boolean };
      load: Record<string, number>;
      dataset: { synthetic: Record<string, number> };
      models: Record<string, unknown>;
      samples: number;
    };
    assert.equal(meta.scenario, 'knn');
    assert.equal(meta.node, process.version);
    assert.match(meta.git.sha, /^[0-9a-f]{40}$/);
    assert.equal(typeof meta.git.dirty, 'boolean');
    assert.equal(meta.load.durationSeconds, 5);
    assert.equal(meta.load.warmupSeconds, 2);
    assert.equal(meta.load.connections, 10);
    assert.equal(meta.dataset.synthetic.users, 4000);
    assert.equal(meta.models.knnNeighbours, 300);
    assert.equal(meta.samples, totalSamples(parseFolded(folded)));
    assert.ok(meta.samples > 500, `enough samples: ${meta.samples}`);
    assert.ok(!Number.isNaN(Date.parse(meta.startedAt as string)));

    const summary = JSON.parse(readFileSync(join(runDir, 'load-summary.json'), 'utf8')) as Record<string, unknown> & {
      latencyMs: Record<string, number>;
    };
    assert.ok((summary.rps as number) > 0 && (summary.totalRequests as number) > 0);
    for (const p of ['p50', 'p90', 'p99']) assert.equal(typeof summary.latencyMs[p], 'number');
    for (const k of ['errors', 'timeouts', 'non2xx']) assert.equal(typeof summary[k], 'number');

    // The point of the profile: it shows our code, not only Node's.
    const top15 = shares(runDir)
      .slice(0, 15)
      .map((f) => f.frame);
    assert.ok(top15.includes(KNN_SCORING), `'${KNN_SCORING}' among the top 15 self-time frames:\n${top15.join('\n')}`);
  });

  it('profiles knn again: both runs agree on their top-5 frames', { timeout: 240_000 }, async () => {
    assert.equal(runs.knn?.length, 1, 'needs the first knn run');
    await profile('knn');
    const [first, second] = (runs.knn ?? []).map(shares) as [FrameShare[], FrameShare[]];
    const problems = topAgreement(first, second, 5, 0.025);
    const show = (s: FrameShare[]): string => s.slice(0, 6).map((f) => `${(f.selfShare * 100).toFixed(1)}% ${f.frame}`).join('\n  ');
    assert.deepEqual(problems, [], `top frames differ:\n run 1:\n  ${show(first)}\n run 2:\n  ${show(second)}`);
  });

  it('profiles popular: kNN scoring is absent there', { timeout: 240_000 }, async () => {
    const runDir = await profile('popular');
    const frames = shares(runDir).map((f) => f.frame);
    assert.ok(!frames.slice(0, 15).includes(KNN_SCORING), 'popular does not score neighbours');
  });
});

describe('npm run profile:compare', () => {
  it('compares knn with popular: top.md, differential flamegraph, index.html rendering three graphs', { timeout: 120_000 }, async () => {
    assert.equal(runs.popular?.length, 1, 'needs the knn and popular runs');
    const result = await runCli(COMPARE_CLI, ['knn', 'popular', '--profiles-dir', profilesDir], env, 60_000);
    assert.equal(result.code, 0, result.stderr);
    const dir = /^comparison: (.+)$/m.exec(result.stdout)?.[1];
    assert.ok(dir !== undefined, result.stdout);
    const knnRun = (runs.knn ?? []).at(-1) as string;
    const popularRun = (runs.popular ?? [])[0] as string;
    assert.ok(dir.endsWith(`knn-${knnRun.split('/').at(-1)}-vs-popular-${popularRun.split('/').at(-1)}`), dir);
    for (const file of ['top.md', 'diff.html', 'index.html', 'data.js', 'assets/d3.min.js', 'assets/d3-flamegraph.min.js', 'assets/compare.js']) {
      assert.ok(existsSync(join(dir, file)), `${file} in ${dir}`);
    }
    const top = readFileSync(join(dir, 'top.md'), 'utf8');
    assert.match(top, /\| frame \| self A \| self B \| Δ \(points\) \|/);
    const scoring = top.split('\n').find((l) => l.includes(KNN_SCORING));
    assert.ok(scoring !== undefined, 'scoring is in the table');
    assert.match(scoring, /\| -\d+\.\d \|$/, 'and it shrinks from knn (A) to popular (B)');
    const deltas = top
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => Math.abs(Number(/\| ([+-]?\d+\.\d) \|$/.exec(l)?.[1])));
    assert.deepEqual(deltas, [...deltas].sort((x, y) => y - x), 'sorted by absolute delta');
    // No CDN: every script and stylesheet is a local file.
    for (const page of ['index.html', 'diff.html']) assert.doesNotMatch(readFileSync(join(dir, page), 'utf8'), /(src|href)="(https?:)?\/\//);

    assert.ok(existsSync(CHROMIUM), `headless Chromium at ${CHROMIUM} (apt-get install chromium)`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
      await page.goto(`file://${join(dir, 'index.html')}`);
      await page.waitForSelector('body[data-rendered="3"]', { timeout: 20_000 });
      await page.waitForTimeout(800); // d3-flame-graph writes frame labels after its transition
      // Browser-side code as strings: this project compiles without the DOM library.
      const frames = await page.evaluate<number[]>(
        `Array.from(document.querySelectorAll('.chart svg')).map((svg) => svg.querySelectorAll('g').length)`,
      );
      assert.equal(frames.length, 3, 'A, B and the differential graph');
      for (const n of frames) assert.ok(n > 50, `a flamegraph with many frames, got ${n}`);
      const knnLabels = await page.evaluate<string>(`document.querySelector('#chart-a svg').textContent`);
      assert.ok(knnLabels.includes('scoreStage'), 'frame labels are drawn (the knn graph names scoreStage)');
      await page.screenshot({ path: join(dir, 'screenshot.png'), fullPage: true });

      await page.goto(`file://${join(dir, 'diff.html')}`);
      await page.waitForSelector('body[data-rendered="1"]', { timeout: 20_000 });
      assert.ok((await page.evaluate<number>(`document.querySelectorAll('#chart-diff svg g').length`)) > 50);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    assert.ok(readFileSync(join(dir, 'screenshot.png')).length > 10_000, 'a screenshot with content');
    if (process.env.KEEP_TEST_PROFILES !== undefined) writeFileSync(join(profilesDir, 'last-compare.txt'), `${dir}\n`);
  });

  it('compares the two latest runs of one scenario (two versions of a route)', { timeout: 60_000 }, async () => {
    assert.equal(runs.knn?.length, 2, 'needs two knn runs');
    const result = await runCli(COMPARE_CLI, ['knn', '--profiles-dir', profilesDir], env, 60_000);
    assert.equal(result.code, 0, result.stderr);
    const [older, newer] = (runs.knn ?? []).map((r) => r.split('/').at(-1) as string);
    assert.match(result.stdout, new RegExp(`# knn-${older} vs knn-${newer}`));
    assert.match(result.stdout, new RegExp(`comparison: .*knn-${older}-vs-knn-${newer}`));
    const dir = /^comparison: (.+)$/m.exec(result.stdout)?.[1] as string;
    for (const file of ['top.md', 'diff.html', 'index.html']) assert.ok(existsSync(join(dir, file)), file);
  });
});
