/**
 * From raw per-round samples to the rows of the benchmark table: medians, paired ratios,
 * failure marks and target verdicts. Pure functions, unit-tested
 * (test/unit/bench-summary.test.ts).
 */
import { BENCH_PROFILING_HZ, MODE_PARTS, OBSERVABILITY_LABEL, OBSERVABILITY_MODES, type Observability } from './servers';
import type { Spread } from './ab';
import { check, median, pairedRatio, type TargetCheck } from './stats';

export type Route = 'health' | 'popular' | 'knn';

export interface TargetSpec {
  id: string;
  label: string;
  /** Which server process answers (see servers.ts). */
  server: string;
  route: Route;
  /** Set on the two baselines. */
  baseline?: 'bare-http' | 'bare-express';
  /** Set on service rows. */
  observability?: Observability;
  /**
   * The peer stack (bench/servers/peer.ts): the same route on Express + pino-http +
   * OpenTelemetry instrumentations, log + trace at `traceRatio`. Compared with obs off as
   * the service's modes are.
   */
  peer?: { traceRatio: number };
  /**
   * A fixed request rate (requests/s over all connections) instead of a closed loop at
   * saturation: for latency under a given load. Such rows get no rps ratios.
   */
  rate?: number;
}

export interface Sample {
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  responses: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** CPU used by the server process, as a fraction of one core, over the run. */
  serverCpu: number | undefined;
  /** Server CPU time per response, microseconds: the cost of a request, whatever else ran. */
  cpuUsPerRequest: number | undefined;
  /** Same for the load generator (this process). */
  generatorCpu: number;
}

export type RowStatus = 'ok' | 'failed' | 'skipped';

export interface RowResult {
  spec: TargetSpec;
  status: RowStatus;
  /** Why the row failed or was skipped. */
  reason?: string;
  warmup?: Sample;
  rounds: Sample[];
  rps: number;
  p50Ms: number;
  p99Ms: number;
  serverCpu: number;
  cpuUsPerRequest: number;
  generatorCpu: number;
  /** Totals over warm-up and every round. */
  errors: number;
  non2xx: number;
  /** Median of per-round rps ratios to the bare Express baseline. */
  vsExpress: number;
  /** Median of per-round rps ratios to the same route with observability off (service rows). */
  vsObsOff: number;
  /** Median of per-round ratios of server CPU per request to obs off (service rows): > 1 costs more. */
  cpuVsObsOff: number;
  /** Traced rows: sampled traces of the measured runs, and how many reached the collector (bench/delivery.ts). */
  delivery?: { sampled: number; delivered: number };
}

/** The share of new traces a row's server samples; undefined when it does not trace. */
export function traceRatioOf(spec: TargetSpec): number | undefined {
  if (spec.peer !== undefined) return spec.peer.traceRatio;
  return spec.observability === undefined ? undefined : MODE_PARTS[spec.observability].traceRatio;
}

function byRound(
  row: { rounds: Sample[] } | undefined,
  rounds: number,
  value: (s: Sample) => number | undefined = (s) => s.rps,
): (number | undefined)[] {
  const out: (number | undefined)[] = new Array<number | undefined>(rounds).fill(undefined);
  for (const s of row?.rounds ?? []) if (s.round < rounds) out[s.round] = value(s);
  return out;
}

const cpuPerRequest = (s: Sample): number | undefined => s.cpuUsPerRequest;

/** Why a row's samples make it a failed measurement, or undefined when they are clean. */
export function failureReason(samples: readonly Sample[]): string | undefined {
  const errors = samples.reduce((n, s) => n + s.errors, 0);
  const timeouts = samples.reduce((n, s) => n + s.timeouts, 0);
  const non2xx = samples.reduce((n, s) => n + s.non2xx, 0);
  if (errors === 0 && non2xx === 0) return undefined;
  const codes: Record<string, number> = {};
  for (const s of samples) for (const [code, n] of Object.entries(s.statusCodes)) codes[code] = (codes[code] ?? 0) + n;
  const parts: string[] = [];
  if (errors > 0) parts.push(`${errors} errors${timeouts > 0 ? ` (${timeouts} timeouts)` : ''}`);
  if (non2xx > 0) {
    parts.push(
      `${non2xx} non-2xx (${Object.entries(codes)
        .map(([c, n]) => `${c}×${n}`)
        .join(', ')})`,
    );
  }
  return parts.join(', ');
}

export interface RawRow {
  spec: TargetSpec;
  /** A row that could not run at all (e.g. no collector for tracing). */
  skipped?: string;
  /** The server could not start or died. */
  crashed?: string;
  warmup?: Sample;
  rounds: Sample[];
}

/** Medians, totals, ratios and status for every row; `rounds` is how many rounds ran. */
export function summarise(raw: readonly RawRow[], rounds: number): RowResult[] {
  const express = raw.find((r) => r.spec.baseline === 'bare-express');
  const expressRps = byRound(express?.skipped === undefined ? express : undefined, rounds);
  return raw.map((r) => {
    const all = [...(r.warmup === undefined ? [] : [r.warmup]), ...r.rounds];
    const failure = failureReason(all);
    let status: RowStatus = 'ok';
    let reason: string | undefined;
    if (r.skipped !== undefined) {
      status = 'skipped';
      reason = r.skipped;
    } else if (r.crashed !== undefined || failure !== undefined || r.rounds.length === 0) {
      status = 'failed';
      reason = [r.crashed, failure].filter((x) => x !== undefined).join('; ') || 'no rounds measured';
    }
    const mine = byRound(r, rounds);
    let vsObsOff = Number.NaN;
    let cpuVsObsOff = Number.NaN;
    if ((r.spec.observability !== undefined || r.spec.peer !== undefined) && r.spec.rate === undefined) {
      const off = raw.find(
        (o) => o.spec.route === r.spec.route && o.spec.observability === 'off' && o.spec.rate === undefined && o.skipped === undefined,
      );
      if (off !== undefined) {
        vsObsOff = pairedRatio(mine, byRound(off, rounds));
        cpuVsObsOff = pairedRatio(byRound(r, rounds, cpuPerRequest), byRound(off, rounds, cpuPerRequest));
      }
    }
    const row: RowResult = {
      spec: r.spec,
      status,
      ...(reason === undefined ? {} : { reason }),
      ...(r.warmup === undefined ? {} : { warmup: r.warmup }),
      rounds: r.rounds,
      rps: median(r.rounds.map((s) => s.rps)),
      p50Ms: median(r.rounds.map((s) => s.p50Ms)),
      p99Ms: median(r.rounds.map((s) => s.p99Ms)),
      serverCpu: median(r.rounds.map((s) => s.serverCpu ?? Number.NaN)),
      cpuUsPerRequest: median(r.rounds.map((s) => s.cpuUsPerRequest ?? Number.NaN)),
      generatorCpu: median(r.rounds.map((s) => s.generatorCpu)),
      errors: all.reduce((n, s) => n + s.errors, 0),
      non2xx: all.reduce((n, s) => n + s.non2xx, 0),
      vsExpress: status === 'skipped' || r.spec.rate !== undefined ? Number.NaN : pairedRatio(mine, expressRps),
      vsObsOff,
      cpuVsObsOff: status === 'skipped' ? Number.NaN : cpuVsObsOff,
    };
    return row;
  });
}

export interface TrainingFigures {
  /** Wall time of training every model, seconds. */
  trainSeconds: number;
  maxRssBytes: number;
}

/**
 * Profiling's cost by the interleaved fixed-rate A/B windows (bench/ab.ts): obs off and
 * profiling loaded together at one rate, cycle after cycle.
 */
export interface ProfilingAb {
  rate: number;
  windowSeconds: number;
  /** Per-cycle ratio of CPU per request, profiling / off. */
  ratio: Spread;
  ratios: number[];
  offCpuUs: number;
  onCpuUs: number;
  /** The extra CPU paid per second whatever the load (idle windows), and the rest per request. */
  fixedUsPerSecond: number;
  perRequestUs: number;
  loadAverage: number;
  /** Share of the servers' core other processes used (median over the windows). */
  othersOnCpu: number;
}

/**
 * The request rate from which a cost of `fixedUsPerSecond` plus `perRequestUs` per request
 * stays within `share` of `baseUs` per request; Infinity when the per-request part alone
 * exceeds it, NaN when unknown.
 */
export function breakEvenRate(fixedUsPerSecond: number, perRequestUs: number, baseUs: number, share: number): number {
  if (![fixedUsPerSecond, perRequestUs, baseUs].every(Number.isFinite) || baseUs <= 0) return Number.NaN;
  // A negative per-request part (the idle windows overstate a sampler's price under load) is no room.
  const room = share * baseUs - Math.max(0, perRequestUs);
  if (room <= 0) return Number.POSITIVE_INFINITY;
  return Math.max(0, fixedUsPerSecond) / room;
}

/** The break-even rate in words, with the share of one core the service then uses (rate × its CPU per request). */
export function breakEvenText(rate: number, baseUs: number): string {
  if (Number.isNaN(rate)) return 'unknown';
  if (!Number.isFinite(rate)) return 'at no rate (the per-request part alone is over 3 %)';
  if (rate === 0) return 'at every rate (no cost per second)';
  return `from ${Math.ceil(rate / 10) * 10} rps up (the service then busy ${Math.round((rate * baseUs) / 1e4)} % of a core)`;
}

export interface TargetInputs {
  rows: readonly RowResult[];
  /** Profiling's cost by A/B windows, when they ran. */
  profilingAb?: ProfilingAb;
  connections: number;
  /** Kion-scale training; undefined when not measured, with the reason. */
  kion?: TrainingFigures;
  kionNote?: string;
}

const ratioFmt = (v: number): string => `${v.toFixed(2)}×`;
const secondsFmt = (v: number): string => `${v.toFixed(1)} s`;
const gbFmt = (v: number): string => `${(v / 1e9).toFixed(2)} GB`;
const msFmt = (v: number): string => `${v.toFixed(1)} ms`;
const usFmt = (v: number): string => `${v.toFixed(0)} µs`;

/** p99 limit at the fixed open-loop rate (half the obs-off capacity), every mode. */
export const P99_AT_RATE_LIMIT_MS = 10;

/**
 * The issues' targets, each met / missed / not measured, with the numbers. Reported, never
 * asserted. Throughput targets are judged on the paired rps ratio; each note gives the
 * paired ratio of server CPU per request, the robust form on a busy machine.
 */
export function evaluateTargets(input: TargetInputs): TargetCheck[] {
  const find = (route: Route, obs: Observability): RowResult | undefined =>
    input.rows.find((r) => r.spec.route === route && r.spec.observability === obs && r.spec.rate === undefined && r.status !== 'skipped');
  const findAtRate = (route: Route, obs: Observability): RowResult | undefined =>
    input.rows.find((r) => r.spec.route === route && r.spec.observability === obs && r.spec.rate !== undefined && r.status !== 'skipped');
  const usable = (row: RowResult | undefined): RowResult | undefined => (row?.status === 'ok' ? row : undefined);
  const cpuNote = (row: RowResult | undefined, missing: string): string => {
    if (row === undefined) return missing;
    const parts = [`CPU ${usFmt(row.cpuUsPerRequest)}/req`];
    if (Number.isFinite(row.cpuVsObsOff)) parts.push(`${ratioFmt(row.cpuVsObsOff)} the CPU/req of obs off`);
    return parts.join(', ');
  };
  const out: TargetCheck[] = [];

  const popularOff = find('popular', 'off');
  out.push(check('/reco/popular obs off rps ≥ 0.90× bare Express /health', usable(popularOff)?.vsExpress, '>=', 0.9, ratioFmt));
  const knnOff = find('knn', 'off');
  const express = input.rows.find((r) => r.spec.baseline === 'bare-express');
  out.push(
    check(
      '/reco/knn obs off rps ≥ 0.80× bare Express /health',
      usable(knnOff)?.vsExpress,
      '>=',
      0.8,
      ratioFmt,
      knnOff !== undefined && express !== undefined ? `CPU/req ${usFmt(knnOff.cpuUsPerRequest)} vs Express ${usFmt(express.cpuUsPerRequest)}` : undefined,
    ),
  );
  const vsOff: [Observability, number, string][] = [
    ['log', 0.85, 'file log'],
    ['trace10', 0.8, 'log+trace 10%'],
    ['trace100', 0.5, 'log+trace 100%'],
  ];
  for (const [mode, limit, label] of vsOff) {
    const row = find('knn', mode);
    const missing = mode === 'log' ? 'file-log row missing' : 'tracing rows skipped';
    out.push(check(`/reco/knn ${label} rps ≥ ${limit.toFixed(2)}× obs off`, usable(row)?.vsObsOff, '>=', limit, ratioFmt, cpuNote(row, missing)));
  }
  const all = find('knn', 'all');
  out.push(check('/reco/knn everything (log+metrics+trace 10%) rps ≥ 0.70× obs off', usable(all)?.vsObsOff, '>=', 0.7, ratioFmt, cpuNote(all, 'tracing rows skipped')));
  const peer = input.rows.find((r) => r.spec.peer !== undefined && r.spec.rate === undefined && r.status !== 'skipped');
  const cpuShare = usable(all) !== undefined && usable(peer) !== undefined ? all!.cpuUsPerRequest / peer!.cpuUsPerRequest : undefined;
  out.push(
    check(
      'recoscope everything CPU/req < 0.50× the peer stack (Express + pino-http + OTel instrumentations, log + trace 10%)',
      cpuShare,
      '<',
      0.5,
      ratioFmt,
      peer === undefined ? 'peer row not run' : `${usFmt(all?.cpuUsPerRequest ?? Number.NaN)} vs ${usFmt(peer.cpuUsPerRequest)} per request; peer rps ${peer.vsObsOff.toFixed(2)}× obs off`,
    ),
  );
  for (const row of input.rows) {
    if (row.delivery === undefined || row.status === 'skipped') continue;
    const share = row.delivery.sampled === 0 ? undefined : row.delivery.delivered / row.delivery.sampled;
    out.push(
      check(
        `sampled traces delivered ≥ 99 % (${row.spec.label})`,
        row.status === 'ok' ? share : undefined,
        '>=',
        0.99,
        (v) => `${(v * 100).toFixed(1)} %`,
        `${row.delivery.delivered} of ${row.delivery.sampled} sampled traces reached the collector`,
      ),
    );
  }
  // Profiling's target is on CPU per request (what the profiler adds to each request), not rps,
  // judged by the A/B windows when they ran (bench/ab.ts), else by the closed-loop rounds.
  const profiled = find('knn', 'profile');
  const ab = input.profilingAb;
  if (ab !== undefined) {
    const fromText = breakEvenText(breakEvenRate(ab.fixedUsPerSecond, ab.perRequestUs, ab.offCpuUs, 0.03), ab.offCpuUs);
    out.push(
      check(
        `/reco/knn CPU/req with profiling at ${BENCH_PROFILING_HZ} Hz ≤ 1.03× obs off (interleaved A/B at ${ab.rate} rps)`,
        ab.ratio.median,
        '<=',
        1.03,
        ratioFmt,
        `median of ${ab.ratio.n} paired ${ab.windowSeconds}-s windows, IQR ${ratioFmt(ab.ratio.q1)}–${ratioFmt(ab.ratio.q3)}; ` +
          `${usFmt(ab.onCpuUs)} vs ${usFmt(ab.offCpuUs)}/req = ${(ab.fixedUsPerSecond / 1000).toFixed(1)} ms CPU/s whatever the load + ${ab.perRequestUs.toFixed(1)} µs/req, ` +
          `so ≤ 3 % ${fromText}; load average ${ab.loadAverage.toFixed(1)}, others used ${Math.round(ab.othersOnCpu * 100)}% of the core` +
          (profiled === undefined ? '' : `; closed-loop rounds: ${ratioFmt(profiled.cpuVsObsOff)}`),
      ),
    );
  } else {
    out.push(
      check(
        `/reco/knn CPU/req with profiling at ${BENCH_PROFILING_HZ} Hz ≤ 1.03× obs off`,
        usable(profiled)?.cpuVsObsOff,
        '<=',
        1.03,
        ratioFmt,
        profiled === undefined ? 'profiling row missing' : `closed-loop rounds (no A/B windows); CPU ${usFmt(profiled.cpuUsPerRequest)}/req; rps ${ratioFmt(profiled.vsObsOff)} obs off`,
      ),
    );
  }
  out.push(check('Kion-scale training < 60 s', input.kion?.trainSeconds, '<', 60, secondsFmt, input.kionNote));
  out.push(check('Kion-scale peak RSS < 1.5 GB', input.kion?.maxRssBytes, '<', 1.5e9, gbFmt, input.kionNote));
  for (const mode of OBSERVABILITY_MODES) {
    const row = findAtRate('knn', mode);
    const saturated = find('knn', mode);
    if (row === undefined && saturated === undefined) continue;
    const rate = row?.spec.rate;
    const name = `/reco/knn p99 < ${P99_AT_RATE_LIMIT_MS} ms at half the obs-off capacity, open loop (${OBSERVABILITY_LABEL[mode]}${rate === undefined ? '' : `, ${Math.round(rate)} rps`})`;
    const notes: string[] = [];
    if (row === undefined) notes.push('no fixed-rate run (--rate-share 0)');
    else if (row.status === 'ok' && rate !== undefined && row.rps < 0.95 * rate) notes.push(`server kept up with only ${Math.round(row.rps)} rps`);
    if (row?.status === 'ok') notes.push(`p50 ${msFmt(row.p50Ms)}`);
    out.push(check(name, usable(row)?.p99Ms, '<', P99_AT_RATE_LIMIT_MS, msFmt, notes.length > 0 ? notes.join('; ') : undefined));
  }
  return out;
}
