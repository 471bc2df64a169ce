/**
 * Interleaved A/B windows at a fixed request rate: the method for a CPU-per-request ratio on a
 * shared machine.
 *
 * Closed-loop rounds at saturation measure CPU per request while the server competes for its
 * core with everything else on the machine; their rounds vary by ±30 % here, far more than the
 * few percent being asked about. At a fixed open-loop rate every server does the same work
 * per second whatever the machine does, so its CPU time over a window is its cost, not its
 * share of the core. Windows alternate A / B / A / B … (the order within a cycle rotated and
 * reversed, `roundOrder`), each B is compared with the A of its own cycle, and the median of
 * those paired ratios, with its spread, is the answer: drift of the machine between cycles
 * cancels, a noisy window moves one ratio, not the median.
 *
 * CPU time is read per thread from /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU,
 * every thread: the main thread, V8's platform workers and profiler thread, libuv's pool),
 * because /proc/<pid>/stat's utime+stime count 10-ms ticks: ±1 tick on a window of ~0.3 s of
 * CPU would already be ±3 %. The tick figure is kept beside it as a cross-check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { ChildServer } from '../loadtest/child-server';
import { processCpuSeconds } from '../loadtest/cpu';
import { runPaced } from './paced';
import { median, percentileSorted, ratio, roundOrder } from './stats';

/** Nanoseconds on CPU of every live thread of `pid` (schedstat's first field); undefined when unreadable. */
export function threadCpuNs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let total = 0;
  for (const tid of tids) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between readdir and read: its time is gone with it (rare, and the
      // threads that matter — main, V8 platform, profiler, libuv pool — live as long as the process).
    }
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Nanoseconds on CPU of the main thread of `pid` alone (its tid is the pid); undefined when unreadable. */
export function mainThreadCpuNs(pid: number): number | undefined {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total ticks of one CPU from /proc/stat (busy = everything but idle and iowait). */
export function cpuTicks(cpu: number, stat = readStat()): { busy: number; total: number } | undefined {
  const line = stat?.split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function readStat(): string | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
}

export interface AbArm {
  /** Short name printed in the tables, e.g. `off`, `profiling`. */
  name: string;
  server: ChildServer;
}

export interface AbWindow {
  cycle: number;
  arm: string;
  responses: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  wallSeconds: number;
  /** Server CPU over the window from schedstat, ns; and the same from utime+stime, s. */
  cpuNs: number | undefined;
  cpuTickSeconds: number | undefined;
  /** The main thread's share of cpuNs: the rest is V8's workers (GC, compilers), libuv's pool, samplers. */
  mainCpuNs: number | undefined;
  /** Server CPU per response, µs (schedstat). */
  cpuUsPerRequest: number;
  /** Share of the server's CPU used by other processes over the window (0..1), when pinned. */
  othersOnCpu: number | undefined;
}

export interface AbOptions {
  arms: readonly AbArm[];
  paths: readonly string[];
  headers: Record<string, string>;
  rate: number;
  windowSeconds: number;
  cycles: number;
  /** Seconds of load on every arm before the first cycle (JIT, caches, first cut). */
  warmupSeconds: number;
  connections: number;
  /** The CPU the servers are pinned to: how busy others kept it is reported with each window. */
  serverCpu: number | undefined;
  /**
   * Load every arm at once in each cycle instead of one after the other: then a burst of
   * other work on the machine hits both sides of a ratio alike (their own load is the same
   * on both). One after the other, each ratio also carries how the machine changed between
   * its two windows.
   */
  together?: boolean;
  /**
   * Seconds with no requests at the end of each cycle, every arm measured at once: what an
   * arm costs per second whatever the load (a sampler's cost per sample), apart from what it
   * costs per request. 0 = none.
   */
  idleSeconds?: number;
  progress: (line: string) => void;
}

/** One arm's CPU over an idle window (no requests). */
export interface AbIdle {
  cycle: number;
  arm: string;
  seconds: number;
  cpuNs: number | undefined;
}

export interface AbRun {
  windows: AbWindow[];
  idle: AbIdle[];
  rate: number;
  windowSeconds: number;
  cycles: number;
  together: boolean;
  loadAverageStart: number;
  loadAverageEnd: number;
}

async function oneWindow(arm: AbArm, cycle: number, seconds: number, options: AbOptions, withStat = true): Promise<AbWindow> {
  const pid = arm.server.child.pid as number;
  const stat0 = options.serverCpu === undefined || !withStat ? undefined : cpuTicks(options.serverCpu);
  const ns0 = threadCpuNs(pid);
  const main0 = mainThreadCpuNs(pid);
  const ticks0 = processCpuSeconds(pid);
  const load = await runPaced({
    url: arm.server.url,
    paths: options.paths,
    headers: options.headers,
    connections: options.connections,
    durationSeconds: seconds,
    rate: options.rate,
    arrivals: 'poisson',
  });
  const ns1 = threadCpuNs(pid);
  const main1 = mainThreadCpuNs(pid);
  const ticks1 = processCpuSeconds(pid);
  const stat1 = stat0 === undefined || options.serverCpu === undefined ? undefined : cpuTicks(options.serverCpu);
  const cpuNs = ns0 === undefined || ns1 === undefined ? undefined : ns1 - ns0;
  const cpuTickSeconds = ticks0 === undefined || ticks1 === undefined ? undefined : ticks1 - ticks0;
  let othersOnCpu: number | undefined;
  if (stat0 !== undefined && stat1 !== undefined && cpuTickSeconds !== undefined && stat1.total > stat0.total) {
    // Ticks of the core that were busy, minus the server's own: what the rest of the machine took.
    const busyShare = (stat1.busy - stat0.busy) / (stat1.total - stat0.total);
    othersOnCpu = Math.max(0, busyShare - cpuTickSeconds / load.wallSeconds);
  }
  return {
    cycle,
    arm: arm.name,
    responses: load.responses,
    errors: load.errors,
    non2xx: load.non2xx,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    wallSeconds: load.wallSeconds,
    cpuNs,
    cpuTickSeconds,
    mainCpuNs: main0 === undefined || main1 === undefined ? undefined : main1 - main0,
    cpuUsPerRequest: cpuNs === undefined || load.responses === 0 ? Number.NaN : cpuNs / 1000 / load.responses,
    othersOnCpu,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function idleWindow(arms: readonly AbArm[], cycle: number, seconds: number): Promise<AbIdle[]> {
  // A moment for the last responses' leftovers (socket close, GC) before counting.
  await sleep(500);
  const before = arms.map((a) => threadCpuNs(a.server.child.pid as number));
  const started = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - started) / 1000;
  return arms.map((a, i) => {
    const now = threadCpuNs(a.server.child.pid as number);
    const was = before[i];
    return { cycle, arm: a.name, seconds: wall, cpuNs: now === undefined || was === undefined ? undefined : now - was };
  });
}

/** Warm-up on every arm, then `cycles` cycles of one window per arm, in a rotating order. */
export async function runAbWindows(options: AbOptions): Promise<AbRun> {
  const loadAverageStart = loadavg()[0] ?? Number.NaN;
  if (options.warmupSeconds > 0) {
    const warm = (arm: AbArm): Promise<AbWindow> => oneWindow(arm, -1, options.warmupSeconds, options, false);
    // Together: every arm warms for the same seconds under the same machine as in its windows.
    const warmed = options.together === true ? await Promise.all(options.arms.map(warm)) : [];
    for (const [i, arm] of options.arms.entries()) {
      const w = warmed[i] ?? (await warm(arm));
      options.progress(`warm-up ${arm.name}: ${w.responses} responses, ${w.cpuUsPerRequest.toFixed(0)} µs CPU/req`);
    }
  }
  const windows: AbWindow[] = [];
  const idle: AbIdle[] = [];
  const report = (w: AbWindow): void => {
    windows.push(w);
    options.progress(
      `cycle ${w.cycle + 1}/${options.cycles} ${w.arm}: ${w.responses} responses at ${options.rate} rps, ` +
        `CPU ${w.cpuUsPerRequest.toFixed(1)} µs/req, p99 ${w.p99Ms.toFixed(1)} ms` +
        (w.othersOnCpu === undefined ? '' : `, others on the core ${Math.round(w.othersOnCpu * 100)}%`),
    );
  };
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    if (options.together === true) {
      const stat0 = options.serverCpu === undefined ? undefined : cpuTicks(options.serverCpu);
      const started = performance.now();
      const cycleWindows = await Promise.all(roundOrder(options.arms, cycle).map((arm) => oneWindow(arm, cycle, options.windowSeconds, options, false)));
      const wall = (performance.now() - started) / 1000;
      const stat1 = options.serverCpu === undefined ? undefined : cpuTicks(options.serverCpu);
      if (stat0 !== undefined && stat1 !== undefined && stat1.total > stat0.total) {
        const ours = cycleWindows.reduce((sum, w) => sum + (w.cpuTickSeconds ?? 0), 0) / wall;
        const others = Math.max(0, (stat1.busy - stat0.busy) / (stat1.total - stat0.total) - ours);
        for (const w of cycleWindows) w.othersOnCpu = others;
      }
      cycleWindows.forEach(report);
    } else {
      for (const arm of roundOrder(options.arms, cycle)) report(await oneWindow(arm, cycle, options.windowSeconds, options));
    }
    if ((options.idleSeconds ?? 0) > 0) idle.push(...(await idleWindow(options.arms, cycle, options.idleSeconds ?? 0)));
  }
  return {
    windows,
    idle,
    rate: options.rate,
    windowSeconds: options.windowSeconds,
    cycles: options.cycles,
    together: options.together === true,
    loadAverageStart,
    loadAverageEnd: loadavg()[0] ?? Number.NaN,
  };
}

/**
 * One arm run as several server instances (`name`, `name#2`, …, grouped by `groupOf`): their windows of a cycle
 * summed into one (CPU and responses added, so CPU per request is the pool's), and their idle
 * CPU averaged (a server's cost per second). A single server can stay a few percent cheaper or
 * dearer than an identical one for its whole life (where its JIT happened to land), which no
 * number of cycles averages out; several instances per arm do.
 */
export function poolInstances(run: AbRun, groupOf: (arm: string) => string): AbRun {
  const windows = new Map<string, AbWindow>();
  const sum = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a + b);
  for (const w of run.windows) {
    const arm = groupOf(w.arm);
    const key = `${w.cycle}\u0000${arm}`;
    const pooled = windows.get(key);
    if (pooled === undefined) {
      windows.set(key, { ...w, arm });
      continue;
    }
    pooled.responses += w.responses;
    pooled.errors += w.errors;
    pooled.non2xx += w.non2xx;
    pooled.p50Ms = Math.max(pooled.p50Ms, w.p50Ms);
    pooled.p99Ms = Math.max(pooled.p99Ms, w.p99Ms);
    pooled.wallSeconds = Math.max(pooled.wallSeconds, w.wallSeconds);
    pooled.cpuNs = sum(pooled.cpuNs, w.cpuNs);
    pooled.cpuTickSeconds = sum(pooled.cpuTickSeconds, w.cpuTickSeconds);
    pooled.mainCpuNs = sum(pooled.mainCpuNs, w.mainCpuNs);
  }
  for (const w of windows.values()) w.cpuUsPerRequest = w.cpuNs === undefined || w.responses === 0 ? Number.NaN : w.cpuNs / 1000 / w.responses;
  const idle = new Map<string, { entry: AbIdle; servers: number }>();
  for (const i of run.idle) {
    const arm = groupOf(i.arm);
    const key = `${i.cycle}\u0000${arm}`;
    const pooled = idle.get(key);
    if (pooled === undefined) idle.set(key, { entry: { ...i, arm }, servers: 1 });
    else {
      pooled.entry.cpuNs = sum(pooled.entry.cpuNs, i.cpuNs);
      pooled.servers++;
    }
  }
  const idleAverages = [...idle.values()].map(({ entry, servers }) => ({ ...entry, cpuNs: entry.cpuNs === undefined ? undefined : entry.cpuNs / servers }));
  return { ...run, windows: [...windows.values()], idle: idleAverages };
}

export interface Spread {
  median: number;
  /** Nearest-rank quartiles and the extremes. */
  q1: number;
  q3: number;
  min: number;
  max: number;
  n: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return {
    median: median(xs),
    q1: percentileSorted(xs, 25),
    q3: percentileSorted(xs, 75),
    min: xs.length > 0 ? (xs[0] as number) : Number.NaN,
    max: xs.length > 0 ? (xs[xs.length - 1] as number) : Number.NaN,
    n: xs.length,
  };
}

export interface ArmSummary {
  arm: string;
  /** CPU µs per request over the arm's windows. */
  cpuUs: Spread;
  /** Per-cycle ratio of this arm's CPU/req to the baseline arm's in the same cycle. */
  ratio: Spread;
  /** The per-cycle ratios in cycle order (what the spread is of). */
  ratios: number[];
  /** Per-cycle difference of CPU per request to the baseline's in the same cycle, µs. */
  diffUs: Spread;
  responses: number;
  errors: number;
  non2xx: number;
  p99Ms: number;
  /** CPU per second with no requests (µs/s), over the idle windows; NaN without them. */
  idleUsPerSecond: Spread;
}

/**
 * An arm's extra CPU against the baseline, split in two: per second whatever the load (from
 * the idle windows) and per request (the rest of the loaded windows' difference at `rate`).
 * Approximate: a sampler's sample costs differently on an idle thread (a wake-up) than on a
 * busy one (a deeper stack to walk), and the split assumes one price.
 */
export function splitCost(arm: ArmSummary, baseline: ArmSummary, rate: number): { fixedUsPerSecond: number; perRequestUs: number; fixedUsPerRequest: number } {
  const fixedUsPerSecond = arm.idleUsPerSecond.median - baseline.idleUsPerSecond.median;
  const fixedUsPerRequest = fixedUsPerSecond / rate;
  // The loaded difference paired by cycle, as the ratios are: medians of each side apart
  // would carry the drift between cycles.
  return { fixedUsPerSecond, fixedUsPerRequest, perRequestUs: arm.diffUs.median - fixedUsPerRequest };
}

/** Per arm: its CPU per request and its paired ratios to `baseline`, cycle by cycle. */
export function summariseAb(windows: readonly AbWindow[], baseline: string, idle: readonly AbIdle[] = []): ArmSummary[] {
  const arms = [...new Set(windows.map((w) => w.arm))];
  const cycles = [...new Set(windows.map((w) => w.cycle))].sort((a, b) => a - b);
  const at = (arm: string, cycle: number): AbWindow | undefined => windows.find((w) => w.arm === arm && w.cycle === cycle);
  return arms.map((arm) => {
    const mine = windows.filter((w) => w.arm === arm);
    const ratios = cycles.map((c) => ratio(at(arm, c)?.cpuUsPerRequest ?? Number.NaN, at(baseline, c)?.cpuUsPerRequest ?? Number.NaN));
    const diffs = cycles.map((c) => (at(arm, c)?.cpuUsPerRequest ?? Number.NaN) - (at(baseline, c)?.cpuUsPerRequest ?? Number.NaN));
    return {
      arm,
      cpuUs: spreadOf(mine.map((w) => w.cpuUsPerRequest)),
      ratio: spreadOf(ratios),
      ratios,
      diffUs: spreadOf(diffs),
      responses: mine.reduce((n, w) => n + w.responses, 0),
      errors: mine.reduce((n, w) => n + w.errors, 0),
      non2xx: mine.reduce((n, w) => n + w.non2xx, 0),
      p99Ms: median(mine.map((w) => w.p99Ms)),
      idleUsPerSecond: spreadOf(idle.filter((w) => w.arm === arm).map((w) => (w.cpuNs === undefined ? Number.NaN : w.cpuNs / 1000 / w.seconds))),
    };
  });
}
