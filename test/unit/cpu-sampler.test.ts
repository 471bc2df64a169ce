/**
 * The native CPU-time sampler (PROFILING_CLOCK=cpu) without a service: samples only while the
 * thread runs, each labelled with the context set when it was taken, its frames named from the
 * code V8 reported (code that existed before sampling started too), read back by the profiles/ tool.
 * One sampler per process: the steps share it, in order.
 */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { Profile } from 'pprof-format';
import { pprofToFolded } from '../../profiles/continuous';
import { totalSamples } from '../../profiles/folded';
import { CpuSampler } from '../../src/profiling/cpu-sampler';
import { summarise } from '../../src/profiling/profiler';
import { LABELS } from '../../src/profiling/labels';

/** CPU the main thread has used, in ms: the burns run for CPU time, whatever else the machine runs. */
function threadCpuMs(): number {
  const used = process.threadCpuUsage();
  return (used.user + used.system) / 1000;
}

function burnAlpha(ms: number): number {
  const until = threadCpuMs() + ms;
  let x = 1;
  while (threadCpuMs() < until) for (let i = 0; i < 10_000; i++) x = (x * 48_271) % 2_147_483_647;
  return x;
}

function burnBeta(ms: number): number {
  const until = threadCpuMs() + ms;
  let x = 7;
  while (threadCpuMs() < until) for (let i = 0; i < 10_000; i++) x = (x * 16_807) % 2_147_483_647;
  return x;
}

function burnGamma(ms: number): number {
  const until = threadCpuMs() + ms;
  let x = 3;
  while (threadCpuMs() < until) for (let i = 0; i < 10_000; i++) x = (x * 69_621) % 2_147_483_647;
  return x;
}

// Compiled (not yet optimized) before the sampler starts: its bytecode is only known from what
// V8 enumerates then, as is the test runner's code under every test.
burnGamma(0);

interface Ctx {
  trace: string;
}

const labels = (ctx: Ctx): Record<string, string> => ({ [LABELS.traceId]: ctx.trace });
const alpha: Ctx = { trace: 'a'.repeat(32) };
const beta: Ctx = { trace: 'b'.repeat(32) };
const gamma: Ctx = { trace: 'c'.repeat(32) };


describe('the CPU-time sampler', () => {
  const sampler = CpuSampler.start<Ctx>(200);

  it('takes a sample per 1/hz s of CPU, and none while the thread waits', async () => {
    const before = sampler.stats().expirations;
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    const idle = sampler.stats().expirations - before;
    // A wall-clock sampler at 200 Hz takes ~100 samples in these 500 ms.
    assert.ok(idle <= 5, `${idle} samples in 500 ms of waiting`);
    burnAlpha(300);
    const busy = sampler.stats().expirations - before - idle;
    assert.ok(busy >= 30 && busy <= 90, `${busy} samples for 300 ms of CPU at 200 Hz (60 expected)`);
  });

  it('labels each sample with the context it was taken in, and names its frames', async () => {
    for (let round = 0; round < 10; round++) {
      sampler.run(alpha, () => burnAlpha(40));
      sampler.run(beta, () => burnBeta(40));
    }
    sampler.run(gamma, () => burnGamma(100));
    const { profile: first, data } = await sampler.cut(false, labels, Date.now() - 1000, Date.now());
    const read = Profile.decode(gunzipSync(data));
    assert.equal(read.sample.length, first.sample.length, 'the gzip bytes are this profile');
    const a = pprofToFolded(read, { traceId: alpha.trace });
    const b = pprofToFolded(read, { traceId: beta.trace });
    const g = pprofToFolded(read, { traceId: gamma.trace });
    // 400 ms of CPU each at 200 Hz is ~80 samples: most must be here.
    assert.ok(totalSamples(a) >= 40 && totalSamples(b) >= 40, `samples: alpha ${totalSamples(a)}, beta ${totalSamples(b)}`);
    const stacksG = [...g.keys()].join('\n');
    assert.match(stacksG, /burnGamma test\/unit\/cpu-sampler\.test\.ts/);
    assert.match(stacksG, /node:internal\/test_runner\//, 'code compiled before the start is named');
    const stacksA = [...a.keys()].join('\n');
    const stacksB = [...b.keys()].join('\n');
    assert.match(stacksA, /burnAlpha test\/unit\/cpu-sampler\.test\.ts/);
    assert.doesNotMatch(stacksA, /burnBeta/);
    assert.match(stacksB, /burnBeta test\/unit\/cpu-sampler\.test\.ts/);
    assert.doesNotMatch(stacksB, /burnAlpha/);
    assert.deepEqual(summarise(read).trace_ids, [alpha.trace, beta.trace, gamma.trace]);

    // After the cut, samples go to the next profile only.
    sampler.run(beta, () => burnBeta(200));
    const { profile: last } = await sampler.cut(true, labels, Date.now() - 200, Date.now());
    const lastBeta = totalSamples(pprofToFolded(last, { traceId: beta.trace }));
    assert.ok(lastBeta >= 15, `${lastBeta} beta samples in the last profile`);
    assert.equal(totalSamples(pprofToFolded(last, { traceId: alpha.trace })), 0, 'no alpha sample in the last profile');
  });
});
