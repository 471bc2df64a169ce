/**
 * The A/B windows' arithmetic (bench/ab.ts) and profiling's target built from it
 * (bench/summary.ts), on hand-made windows; plus the /proc readers on this process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuTicks, mainThreadCpuNs, poolInstances, splitCost, spreadOf, summariseAb, threadCpuNs, type AbIdle, type AbRun, type AbWindow } from '../../bench/ab';
import { arrivalTimes } from '../../bench/paced';
import { breakEvenRate, breakEvenText, evaluateTargets, type ProfilingAb } from '../../bench/summary';

function win(cycle: number, arm: string, cpuUsPerRequest: number, responses = 1000): AbWindow {
  return {
    cycle,
    arm,
    responses,
    errors: 0,
    non2xx: 0,
    p50Ms: 1,
    p99Ms: 2,
    wallSeconds: 10,
    cpuNs: cpuUsPerRequest * 1000 * responses,
    mainCpuNs: cpuUsPerRequest * 800 * responses,
    cpuTickSeconds: (cpuUsPerRequest * responses) / 1e6,
    cpuUsPerRequest,
    othersOnCpu: 0.5,
  };
}

describe('A/B windows: paired ratios per cycle', () => {
  it('pairs each arm with the baseline of its own cycle, so drift between cycles cancels', () => {
    // The machine gets slower cycle by cycle (100 → 200 µs), the arm always costs 10 % more.
    const windows = [win(0, 'off', 100), win(0, 'on', 110), win(1, 'on', 165), win(1, 'off', 150), win(2, 'off', 200), win(2, 'on', 220)];
    const [off, on] = summariseAb(windows, 'off');
    assert.equal(off?.arm, 'off');
    assert.deepEqual(off?.ratios, [1, 1, 1]);
    assert.equal(on?.arm, 'on');
    for (const r of on?.ratios ?? []) assert.ok(Math.abs(r - 1.1) < 1e-9, `ratio ${r}`);
    assert.ok(Math.abs((on?.ratio.median ?? 0) - 1.1) < 1e-9);
    // The ratio of the medians would be 165 / 150 = 1.10 here too, but their spread is the drift.
    assert.equal(on?.cpuUs.min, 110);
    assert.equal(on?.cpuUs.max, 220);
    assert.equal(on?.responses, 3000);
  });

  it('a cycle missing one side adds no ratio', () => {
    const [, on] = summariseAb([win(0, 'off', 100), win(0, 'on', 120), win(1, 'on', 500)], 'off');
    assert.equal(on?.ratio.n, 1);
    assert.ok(Math.abs((on?.ratio.median ?? 0) - 1.2) < 1e-9);
  });

  it('spread: median, nearest-rank quartiles, extremes, NaN ignored', () => {
    const s = spreadOf([5, 1, Number.NaN, 3, 2, 4]);
    assert.deepEqual(s, { median: 3, q1: 2, q3: 4, min: 1, max: 5, n: 5 });
    assert.ok(Number.isNaN(spreadOf([]).median));
  });
});

describe('open-loop arrivals', () => {
  it('even: one request every interval; poisson: the same rate on average, gaps that differ', () => {
    assert.deepEqual([...arrivalTimes(4, 2.5, 'even', 10)], [10, 12.5, 15, 17.5]);
    const due = arrivalTimes(20_000, 1, 'poisson');
    const gaps = due.slice(1).map((t, i) => t - (due[i] as number));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert.ok(Math.abs(mean - 1) < 0.05, `mean gap ${mean} ms`);
    // Exponential gaps: the standard deviation equals the mean, and a gap is shorter than the mean ~63 % of the time.
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    assert.ok(Math.abs(sd - 1) < 0.1, `gap sd ${sd}`);
    const short = gaps.filter((g) => g < 1).length / gaps.length;
    assert.ok(Math.abs(short - (1 - Math.exp(-1))) < 0.03, `${short} of the gaps under the mean`);
    assert.ok(due.every((t, i) => i === 0 || t >= (due[i - 1] as number)), 'in time order');
  });
});

describe('arms of several server instances', () => {
  it('pools an arm\'s instances per cycle: CPU and responses added, idle CPU averaged per server', () => {
    // Two off servers at 100 and 120 µs/req (1000 and 3000 responses), two "on" servers at 110 and 130.
    const run: AbRun = {
      windows: [win(0, 'off', 100, 1000), win(0, 'off#2', 120, 3000), win(0, 'on', 110), win(0, 'on#2', 130), win(1, 'off', 100), win(1, 'on', 120)],
      idle: [
        { cycle: 0, arm: 'off', seconds: 2, cpuNs: 400_000 },
        { cycle: 0, arm: 'off#2', seconds: 2, cpuNs: 800_000 },
        { cycle: 0, arm: 'on', seconds: 2, cpuNs: 1_000_000 },
      ],
      rate: 100,
      windowSeconds: 10,
      cycles: 2,
      together: true,
      loadAverageStart: 0,
      loadAverageEnd: 0,
    };
    const pooled = poolInstances(run, (arm) => arm.split('#')[0] as string);
    const off0 = pooled.windows.find((w) => w.cycle === 0 && w.arm === 'off');
    assert.equal(off0?.responses, 4000);
    // (100 µs × 1000 + 120 µs × 3000) / 4000: the pool's CPU per request, not the mean of the two.
    assert.ok(Math.abs((off0?.cpuUsPerRequest ?? 0) - 115) < 1e-9, `${off0?.cpuUsPerRequest}`);
    assert.equal(pooled.windows.length, 4);
    const [, on] = summariseAb(pooled.windows, 'off', pooled.idle);
    assert.ok(Math.abs((on?.ratios[0] ?? 0) - 120 / 115) < 1e-9);
    assert.ok(Math.abs((on?.ratios[1] ?? 0) - 1.2) < 1e-9);
    assert.deepEqual(
      pooled.idle.map((i) => [i.arm, i.cpuNs]),
      [['off', 600_000], ['on', 1_000_000]],
    );
    assert.equal(run.windows.length, 6, 'the run itself is left as it was');
  });
});

describe('splitting a cost into per second and per request', () => {
  it('takes the idle difference as the fixed part and the rest of the loaded difference per request', () => {
    // Sampler: 10 000 µs/s idle on top of 150; at 400 rps that is 25 µs/req of the 30 µs difference.
    const idle: AbIdle[] = [0, 1].flatMap((cycle) => [
      { cycle, arm: 'off', seconds: 5, cpuNs: 150 * 5 * 1000 },
      { cycle, arm: 'on', seconds: 5, cpuNs: 10_150 * 5 * 1000 },
    ]);
    const windows = [win(0, 'off', 150), win(0, 'on', 180), win(1, 'off', 150), win(1, 'on', 180)];
    const [off, on] = summariseAb(windows, 'off', idle);
    assert.equal(off?.idleUsPerSecond.median, 150);
    assert.ok(on !== undefined && off !== undefined);
    const split = splitCost(on, off, 400);
    assert.ok(Math.abs(split.fixedUsPerSecond - 10_000) < 1e-6);
    assert.ok(Math.abs(split.fixedUsPerRequest - 25) < 1e-9);
    assert.ok(Math.abs(split.perRequestUs - 5) < 1e-9);
  });

  it('pairs the loaded difference by cycle: one wild window moves one difference, not the split', () => {
    const windows = [win(0, 'off', 100), win(0, 'on', 110), win(1, 'off', 150), win(1, 'on', 320), win(2, 'off', 300), win(2, 'on', 310)];
    const [off, on] = summariseAb(windows, 'off');
    assert.ok(on !== undefined && off !== undefined);
    assert.equal(on.diffUs.median, 10);
    // No idle windows: nothing is fixed, all of the difference is per request.
    assert.ok(Number.isNaN(splitCost(on, off, 400).fixedUsPerSecond));
  });

  it('break-even rate: where the fixed part falls under what the per-request part leaves of 3 %', () => {
    // 3 % of 150 µs = 4.5 µs; 1.5 µs per request leaves 3 µs, so 10 000 µs/s needs 3 334 rps.
    assert.ok(Math.abs(breakEvenRate(10_000, 1.5, 150, 0.03) - 10_000 / 3) < 1e-9);
    assert.equal(breakEvenRate(10_000, 5, 150, 0.03), Number.POSITIVE_INFINITY);
    // A negative per-request part (idle windows overstating the fixed part) leaves no extra room.
    assert.ok(Math.abs(breakEvenRate(10_000, -5, 150, 0.03) - 10_000 / 4.5) < 1e-9);
    assert.ok(Number.isNaN(breakEvenRate(Number.NaN, 1, 150, 0.03)));
    assert.equal(breakEvenText(breakEvenRate(-20, 1, 150, 0.03), 150), 'at every rate (no cost per second)');
    assert.equal(breakEvenText(6_000, 80), 'from 6000 rps up (the service then busy 48 % of a core)');
  });
});

describe("profiling's target from the A/B windows", () => {
  const ab = (median: number): ProfilingAb => ({
    rate: 400,
    windowSeconds: 10,
    ratio: { median, q1: median - 0.01, q3: median + 0.01, min: median - 0.02, max: median + 0.02, n: 8 },
    ratios: [],
    offCpuUs: 150,
    onCpuUs: 150 * median,
    fixedUsPerSecond: 10_000,
    perRequestUs: 1.5,
    loadAverage: 12,
    othersOnCpu: 0.7,
  });
  const target = (input: ProfilingAb) => evaluateTargets({ rows: [], connections: 16, profilingAb: input }).find((t) => t.name.startsWith('/reco/knn CPU/req with profiling'));

  it('is judged on the median paired ratio, and says from which rate 3 % holds', () => {
    const missed = target(ab(1.17));
    assert.equal(missed?.verdict, 'missed');
    assert.equal(missed?.measured, '1.17×');
    assert.match(missed?.name ?? '', /interleaved A\/B at 400 rps/);
    assert.match(missed?.note ?? '', /10\.0 ms CPU\/s whatever the load \+ 1\.5 µs\/req, so ≤ 3 % from 3340 rps up \(the service then busy 50 % of a core\)/);
    assert.equal(target(ab(1.02))?.verdict, 'met');
  });
});

describe('/proc readers', () => {
  it('the main thread alone: part of the process\'s CPU, growing with work', () => {
    const before = mainThreadCpuNs(process.pid);
    let x = 0;
    for (let i = 0; i < 5_000_000; i++) x += Math.sqrt(i);
    const after = mainThreadCpuNs(process.pid);
    assert.ok(x > 0);
    assert.ok(before !== undefined && after !== undefined && after > before, `${before} → ${after}`);
    assert.ok(after <= (threadCpuNs(process.pid) ?? 0), 'no more than every thread together');
  });

  it('this process: CPU time grows with work; CPU 0 has busy ≤ total ticks', () => {
    const before = threadCpuNs(process.pid);
    assert.ok(before !== undefined && before > 0);
    const until = performance.now() + 30;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    assert.ok(x > 0);
    const after = threadCpuNs(process.pid) as number;
    assert.ok(after > before, `${after} > ${before}`);
    const cpu0 = cpuTicks(0);
    assert.ok(cpu0 !== undefined && cpu0.busy <= cpu0.total && cpu0.total > 0);
    assert.equal(threadCpuNs(2 ** 30), undefined);
  });
});
