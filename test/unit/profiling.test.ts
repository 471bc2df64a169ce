/**
 * Continuous profiling without a service: the real @datadog/pprof sampler labelling samples
 * by their context, the pprof → folded stacks conversion the profiles/ tool uses, the store's
 * retention, and the configuration block.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { time, encode } from '@datadog/pprof';
import { Profile } from 'pprof-format';
import { ownFrames, pprofToFolded } from '../../profiles/continuous';
import { frameShares, totalSamples } from '../../profiles/folded';
import { ConfigError, loadConfig } from '../../src/config';
import { LABELS } from '../../src/profiling/labels';
import { labelsOf, summarise } from '../../src/profiling/profiler';
import { ProfileStore, pruneStore } from '../../src/profiling/store';

function burnAlpha(ms: number): number {
  const until = performance.now() + ms;
  let x = 1;
  while (performance.now() < until) for (let i = 0; i < 10_000; i++) x = (x * 48_271) % 2_147_483_647;
  return x;
}

function burnBeta(ms: number): number {
  const until = performance.now() + ms;
  let x = 7;
  while (performance.now() < until) for (let i = 0; i < 10_000; i++) x = (x * 16_807) % 2_147_483_647;
  return x;
}

describe('pprof samples labelled by request context, folded by the profiles/ tool', () => {
  it('keeps each context’s samples apart, and the folded stacks carry our own frame names', async () => {
    // As the service runs it (profiler.ts): a context set around each synchronous piece of work.
    time.start({ intervalMicros: 5_000, durationMillis: 60_000, withContexts: true, useCPED: false });
    const alpha = { trace: 'a'.repeat(32) };
    const beta = { trace: 'b'.repeat(32) };
    for (let round = 0; round < 20; round++) {
      time.setContext(alpha);
      burnAlpha(60);
      time.setContext(beta);
      burnBeta(60);
      // Cleared as the service clears it between requests: no context at all.
      time.setContext(undefined);
    }
    const raw = time.stop(false, ({ context }): Record<string, string> => {
      const ctx = context?.context as { trace?: string } | undefined;
      return ctx?.trace === undefined ? {} : { [LABELS.traceId]: ctx.trace, [LABELS.route]: '/reco/:model_name/:user_id' };
    });
    // Through the wire format, as the tool reads the store.
    const profile = Profile.decode(gunzipSync(await encode(raw)));

    const a = pprofToFolded(profile, { traceId: alpha.trace });
    const b = pprofToFolded(profile, { traceId: beta.trace });
    assert.ok(totalSamples(a) > 0 && totalSamples(b) > 0, `samples: alpha ${totalSamples(a)}, beta ${totalSamples(b)}`);
    const stacksA = [...a.keys()].join('\n');
    const stacksB = [...b.keys()].join('\n');
    assert.match(stacksA, /burnAlpha test\/unit\/profiling\.test\.ts/);
    assert.doesNotMatch(stacksA, /burnBeta/);
    assert.match(stacksB, /burnBeta test\/unit\/profiling\.test\.ts/);
    assert.doesNotMatch(stacksB, /burnAlpha/);
    assert.equal(ownFrames(frameShares(a)).length, 0, 'test/ frames are not src/: no own frames');

    const summary = summarise(profile);
    assert.deepEqual(summary.trace_ids, [alpha.trace, beta.trace]);
    assert.deepEqual(summary.routes, ['/reco/:model_name/:user_id']);
    assert.ok(summary.samples >= totalSamples(a) + totalSamples(b));
    // A filter on a label no sample has keeps nothing.
    assert.equal(totalSamples(pprofToFolded(profile, { traceId: 'c'.repeat(32) })), 0);
  });
});

describe('profile store retention', () => {
  const make = (dir: string, name: string, bytes: number, ageMs: number, now: number): void => {
    const path = join(dir, name);
    writeFileSync(path, Buffer.alloc(bytes));
    const t = (now - ageMs) / 1000;
    utimesSync(path, t, t);
  };

  it('removes the oldest until under the size bound, and everything past the age bound, never the newest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recoscope-store-'));
    try {
      const now = Date.now();
      make(dir, '20260101T000000Z-000001.pb.gz', 400, 50_000, now);
      make(dir, '20260101T000010Z-000002.pb.gz', 400, 40_000, now);
      make(dir, '20260101T000020Z-000003.pb.gz', 400, 30_000, now);
      make(dir, '20260101T000030Z-000004.pb.gz', 400, 20_000, now);
      make(dir, 'notes.txt', 10_000, 90_000, now);
      const bySize = await pruneStore(dir, { maxBytes: 900, maxAgeMs: 3_600_000 }, '20260101T000030Z-000004.pb.gz', now);
      assert.deepEqual(bySize, { removed: 2, removedBytes: 800, files: 2, bytes: 800 });
      assert.deepEqual(readdirSync(dir).sort(), ['20260101T000020Z-000003.pb.gz', '20260101T000030Z-000004.pb.gz', 'notes.txt']);

      const byAge = await pruneStore(dir, { maxBytes: 1_000_000, maxAgeMs: 25_000 }, '20260101T000030Z-000004.pb.gz', now);
      assert.equal(byAge.removed, 1);
      // The file just written stays even when it alone exceeds the bound.
      const tiny = await pruneStore(dir, { maxBytes: 1, maxAgeMs: 1 }, '20260101T000030Z-000004.pb.gz', now);
      assert.equal(tiny.removed, 0);
      assert.deepEqual(readdirSync(dir).sort(), ['20260101T000030Z-000004.pb.gz', 'notes.txt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('keeps its own index: profiles of an earlier run count, writes and removals keep it equal to the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recoscope-store-'));
    try {
      const now = Date.now();
      make(dir, '20260101T000000Z-000001.pb.gz', 300, 60_000, now);
      make(dir, '20260101T000010Z-000002.pb.gz', 300, 50_000, now);
      const store = await ProfileStore.open(dir);
      assert.deepEqual({ files: store.files, bytes: store.bytes }, { files: 2, bytes: 600 });
      const a = await store.write('20260101T000020Z-000003', Buffer.alloc(300), now - 1_000);
      const b = await store.write('20260101T000030Z-000004', Buffer.alloc(300), now);
      assert.equal(b, '20260101T000030Z-000004.pb.gz');
      // 1 200 bytes against a bound of 700: the two oldest (the earlier run's) go first.
      const pruned = await store.prune({ maxBytes: 700, maxAgeMs: 3_600_000 }, b, now);
      assert.deepEqual(pruned, { removed: 2, removedBytes: 600, files: 2, bytes: 600 });
      assert.deepEqual(readdirSync(dir).sort(), [a, b]);
      // A file an operator removed is not an error, and leaves the index.
      rmSync(join(dir, a));
      const again = await store.prune({ maxBytes: 300, maxAgeMs: 3_600_000 }, b, now);
      assert.deepEqual(again, { removed: 1, removedBytes: 300, files: 1, bytes: 300 });
      const reopened = await ProfileStore.open(dir);
      assert.deepEqual({ files: reopened.files, bytes: reopened.bytes }, { files: store.files, bytes: store.bytes });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sample labels from a request context', () => {
  it('names trace, span, route template, model and its version; an empty context has none', () => {
    const versions = new Map([['knn', 'v7']]);
    const ctx = { traceId: 't'.repeat(32), spanId: 's'.repeat(16), route: '/reco/:model_name/:user_id', model: 'knn' };
    assert.deepEqual(labelsOf(ctx, versions), {
      [LABELS.traceId]: ctx.traceId,
      [LABELS.spanId]: ctx.spanId,
      [LABELS.route]: ctx.route,
      [LABELS.model]: 'knn',
      [LABELS.modelVersion]: 'v7',
    });
    assert.deepEqual(labelsOf({ model: 'popular' }, versions), { [LABELS.model]: 'popular' });
    assert.deepEqual(labelsOf({}, versions), {});
  });
});

describe('profiling configuration', () => {
  it('is off by default, at 100 Hz, a profile every 10 s', () => {
    const { profiling } = loadConfig({});
    assert.equal(profiling.enabled, false);
    assert.equal(profiling.hz, 100);
    assert.equal(profiling.periodMs, 10_000);
    assert.equal(profiling.slowUserDivisor, 0);
  });

  it('reads the bounds, and refuses numbers that are not plain decimals', () => {
    const { profiling } = loadConfig({ PROFILING_ENABLED: 'true', PROFILING_MAX_MB: '0.5', PROFILING_MAX_AGE_MIN: '30', PROFILING_PERIOD_S: '5' });
    assert.equal(profiling.enabled, true);
    assert.equal(profiling.maxBytes, 524_288);
    assert.equal(profiling.maxAgeMs, 1_800_000);
    assert.equal(profiling.periodMs, 5_000);
    assert.throws(() => loadConfig({ PROFILING_HZ: '1e2' }), ConfigError);
    assert.throws(() => loadConfig({ PROFILING_PERIOD_S: '0' }), ConfigError);
  });
});
