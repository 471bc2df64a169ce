/**
 * The measurement loop: a warm-up pass, then rounds in which every target gets one short
 * closed-loop run, in an order rotated every round (see `roundOrder`). Between runs the
 * loop waits until the servers (and the collector) are idle again, so work left over from
 * one run (span exports, log writes) is never billed to the next.
 */
import type { ChildServer } from '../loadtest/child-server';
import { processCpuSeconds } from '../loadtest/cpu';
import { runLoad } from './load';
import { runPaced } from './paced';
import { roundOrder } from './stats';
import type { RawRow, Sample, TargetSpec } from './summary';

export interface LiveTarget {
  spec: TargetSpec;
  server?: ChildServer;
  paths: readonly string[];
  /** Set when the target cannot run at all. */
  skipped?: string;
  /** Set when its server failed to start. */
  crashed?: string;
}

export interface MeasureOptions {
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  headers: Record<string, string>;
  /** Other processes whose leftover work must finish between runs (e.g. the collector). */
  extraPids?: () => number[];
  /** Called after every run, e.g. to read the collector's CPU. */
  afterRun?: (target: LiveTarget, sample: Sample) => void;
  /** Called before every run. */
  beforeRun?: (target: LiveTarget) => void;
  progress: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until none of `pids` used more than 3% of a core over a 100 ms window, or 3 s passed.
 */
export async function waitIdle(pids: number[], maxMs = 3_000): Promise<number> {
  if (pids.length === 0) return 0;
  const started = Date.now();
  let last = pids.map((p) => processCpuSeconds(p) ?? 0);
  while (Date.now() - started < maxMs) {
    await sleep(100);
    const now = pids.map((p) => processCpuSeconds(p) ?? 0);
    const busiest = Math.max(...now.map((v, i) => v - (last[i] as number)));
    last = now;
    if (busiest <= 0.003) break;
  }
  return Date.now() - started;
}

function alive(server: ChildServer | undefined): boolean {
  return server !== undefined && server.child.exitCode === null && server.child.signalCode === null;
}

async function runOne(target: LiveTarget, round: number, seconds: number, options: MeasureOptions): Promise<Sample> {
  const server = target.server as ChildServer;
  const pid = server.child.pid;
  options.beforeRun?.(target);
  const cpu0 = pid === undefined ? undefined : processCpuSeconds(pid);
  const common = { url: server.url, paths: target.paths, headers: options.headers, connections: options.connections, durationSeconds: seconds };
  const load = target.spec.rate === undefined ? await runLoad(common) : await runPaced({ ...common, rate: target.spec.rate });
  const cpu1 = pid === undefined ? undefined : processCpuSeconds(pid);
  const sample: Sample = {
    round,
    rps: load.rps,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    maxMs: load.maxMs,
    responses: load.responses,
    errors: load.errors,
    timeouts: load.timeouts,
    non2xx: load.non2xx,
    statusCodes: load.statusCodes,
    serverCpu: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / load.wallSeconds,
    cpuUsPerRequest: cpu0 === undefined || cpu1 === undefined || load.responses === 0 ? undefined : ((cpu1 - cpu0) / load.responses) * 1e6,
    generatorCpu: load.generatorCpuSeconds / load.wallSeconds,
  };
  options.afterRun?.(target, sample);
  return sample;
}

export async function measureTargets(targets: readonly LiveTarget[], options: MeasureOptions): Promise<RawRow[]> {
  const rows = new Map<string, RawRow>();
  for (const t of targets) {
    rows.set(t.spec.id, {
      spec: t.spec,
      rounds: [],
      ...(t.skipped === undefined ? {} : { skipped: t.skipped }),
      ...(t.crashed === undefined ? {} : { crashed: t.crashed }),
    });
  }
  const runnable = targets.filter((t) => t.skipped === undefined && t.crashed === undefined);
  const serverPids = (): number[] => [
    ...new Set(runnable.filter((t) => alive(t.server)).map((t) => t.server?.child.pid as number)),
    ...(options.extraPids?.() ?? []),
  ];
  const describe = (s: Sample): string =>
    `${Math.round(s.rps)} rps, p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms` +
    (s.errors + s.non2xx > 0 ? `, ${s.errors} errors, ${s.non2xx} non-2xx` : '');

  const pass = async (round: number): Promise<void> => {
    const warm = round < 0;
    const order = warm ? runnable : roundOrder(runnable, round);
    for (const target of order) {
      const row = rows.get(target.spec.id) as RawRow;
      if (!alive(target.server)) {
        row.crashed ??= `server exited (code ${target.server?.child.exitCode ?? target.server?.child.signalCode ?? '?'}): ${target.server?.stderr().trim().split('\n').slice(-3).join(' | ') ?? ''}`;
        continue;
      }
      const waited = await waitIdle(serverPids());
      const sample = await runOne(target, round, warm ? options.warmupSeconds : options.durationSeconds, options);
      if (warm) row.warmup = sample;
      else row.rounds.push(sample);
      options.progress(
        `${warm ? 'warm-up' : `round ${round + 1}/${options.rounds}`}  ${target.spec.label}: ${describe(sample)}` +
          (waited >= 1_000 ? ` (waited ${(waited / 1000).toFixed(1)} s for idle)` : ''),
      );
    }
  };

  if (options.warmupSeconds > 0) await pass(-1);
  for (let round = 0; round < options.rounds; round++) await pass(round);
  return targets.map((t) => rows.get(t.spec.id) as RawRow);
}
