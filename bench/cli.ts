/**
 * `npm run bench [-- --quick]`: throughput, latency and the cost of observability, as ratios
 * measured in one run on one machine. See bench/README.md for the method.
 *
 * Servers run pinned to CPU 0, this process (the load generator) and the collector to CPU 1.
 * Prints one table, writes bench/results.json, bench/results.md and the generated section of
 * docs/performance.md (bench/docs-section.ts), exits 1 when any row
 * had errors or non-2xx responses (a failed measurement) and 2 on bad arguments.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { numberOption, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { loadConfig } from '../src/config';
import { KION_PRESET } from '../src/data/synthetic';
import { probe } from '../loadtest/child-server';
import { PROJECT_ROOT } from '../src/paths';
import { pinProcess, pinningStatus, processCpuSeconds } from '../loadtest/cpu';
import { cleanup, installSignalCleanup, onCleanup, removeDirOnCleanup } from './cleanup';
import { countSpans, startCollector, type Collector } from './collector';
import { deliveredTraceIds, deliveryOf, sampledTraceIds, type RunWindow } from './delivery';
import { startElasticsearch } from './elasticsearch';
import { machineInfo } from './machine';
import { runProbe } from './probes/protocol';
import type { RecommendProbeResult } from './probes/recommend';
import type { TrainProbeResult } from './probes/train';
import { renderMarkdown, renderText, type BenchReport, type DatasetFigures } from './report';
import {
  benchServiceName,
  launchServer,
  MODE_PARTS,
  OBSERVABILITY_LABEL,
  OBSERVABILITY_MODES,
  shipsDirect,
  tracesIn,
  type LaunchContext,
  type LaunchedServer,
  type Observability,
  type ServerSpec,
} from './servers';
import { median } from './stats';
import { evaluateTargets, summarise, traceRatioOf, type ProfilingAb, type RawRow, type Route, type RowResult, type Sample, type TargetSpec } from './summary';
import { runAbWindows, splitCost, summariseAb } from './ab';
import { measureTargets, type LiveTarget } from './throughput';
import { scenarioPaths } from './paths';
import { writePerformanceSection } from './docs-section';

export const SERVER_CPU = 0;
export const LOADGEN_CPU = 1;

const USAGE = `usage: npm run bench [-- options]
  --quick            CI mode: 2 rounds × 3 s, 1 s warm-up, 16 connections, one fixed-rate round,
                     no Kion-scale training
  --rounds N         rounds per target (default 5)
  --duration S       seconds per run (default 5)
  --warmup S         warm-up seconds per target (default 3; 0 = none)
  --connections N    concurrent keep-alive connections (default 50)
  --kion full|skip|F Kion-scale training: full size, skipped, or a fraction F in (0,1) of its
                     users and interactions (clearly labelled) (default full; skip with --quick)
  --rate-share F     also measure /reco/knn latency in every mode at a fixed open-loop rate of
                     F × its obs-off capacity (default 0.5; 0 = off)
  --no-trace         skip the tracing modes (no collector)
  --only a,b         only these targets (ids: bare-http, bare-express, health/off, popular/off,
                     knn/off, knn/log, knn/metrics, knn/trace100, knn/trace10, knn/all, knn/peer,
                     knn/profile)
  --delivery-share F also run every traced row at F × its own capacity, open loop, to count
                     the sampled traces delivered there (default 0.8; 0 = off)
  --env KEY=VALUE    extra environment for every service instance, applied last (repeatable;
                     for experiments, e.g. --env OTEL_TRACES_SAMPLER=parentbased_traceidratio
                     --env OTEL_TRACES_SAMPLER_ARG=0.1 or --env KNN_NEIGHBOURS=100)
  --out DIR          where results.json / results.md go (default bench/)`;

interface Options {
  quick: boolean;
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  kion: 'full' | 'skip' | number;
  trace: boolean;
  /** Fixed-rate latency rows at this share of knn obs-off capacity; 0 = none. */
  rateShare: number;
  /** Fixed-rate delivery rows for each traced row, at this share of its own capacity; 0 = none. */
  deliveryShare: number;
  only: string[] | undefined;
  /** Extra service environment (--env), applied after the mode's own settings. */
  serviceEnv: Record<string, string>;
  outDir: string;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      kion: { type: 'string' },
      'no-trace': { type: 'boolean', default: false },
      'rate-share': { type: 'string' },
      'delivery-share': { type: 'string' },
      only: { type: 'string' },
      env: { type: 'string', multiple: true },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const serviceEnv: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env expects KEY=VALUE, got '${pair}'`);
    serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.help) throw new UsageError('');
  const quick = values.quick;
  let kion: Options['kion'] = quick ? 'skip' : 'full';
  if (values.kion !== undefined) {
    if (values.kion === 'full' || values.kion === 'skip') kion = values.kion;
    else {
      const f = Number(values.kion);
      if (!(f > 0 && f < 1)) throw new UsageError(`--kion must be full, skip or a fraction in (0, 1), got '${values.kion}'`);
      kion = f;
    }
  }
  return {
    quick,
    rounds: Math.round(numberOption(values.rounds, quick ? 2 : 5, 'rounds')),
    durationSeconds: numberOption(values.duration, quick ? 3 : 5, 'duration'),
    warmupSeconds: numberOption(values.warmup, quick ? 1 : 3, 'warmup', true),
    connections: Math.round(numberOption(values.connections, quick ? 16 : 50, 'connections')),
    kion,
    trace: !values['no-trace'],
    rateShare: Math.min(1, numberOption(values['rate-share'], 0.5, 'rate-share', true)),
    deliveryShare: Math.min(1, numberOption(values['delivery-share'], 0.8, 'delivery-share', true)),
    only: values.only?.split(',').map((s) => s.trim()),
    serviceEnv,
    outDir: resolve(values.out ?? join(PROJECT_ROOT, 'bench')),
  };
}

/** Rows whose server exports traces to the collector (the traced modes and the peer). */
const traced = (t: TargetSpec): boolean => traceRatioOf(t) !== undefined;

const ROUTE_PATH: Record<Route, string> = { health: '/health', popular: '/reco/popular', knn: '/reco/knn' };

/**
 * The rows: the two baselines, /health and /reco/popular with observability off (the cost of
 * the service's own layers), and /reco/knn in every observability mode (what the
 * observability targets are about). One service process per mode serves all its rows.
 */
export function allTargets(): TargetSpec[] {
  const targets: TargetSpec[] = [
    { id: 'bare-http', label: 'bare node:http /health', server: 'bare-http', route: 'health', baseline: 'bare-http' },
    { id: 'bare-express', label: 'bare Express 5 /health', server: 'bare-express', route: 'health', baseline: 'bare-express' },
  ];
  const service = (route: Route, obs: Observability): TargetSpec => ({
    id: `${route}/${obs}`,
    label: `${ROUTE_PATH[route]} · ${OBSERVABILITY_LABEL[obs]}`,
    server: `svc-${obs}`,
    route,
    observability: obs,
  });
  targets.push(service('health', 'off'), service('popular', 'off'));
  for (const obs of OBSERVABILITY_MODES) targets.push(service('knn', obs));
  // What a user would pick instead, at the sampling of "everything".
  targets.push({
    id: 'knn/peer',
    label: `${ROUTE_PATH.knn} · peer: Express + pino-http + OTel http/express/pino instr., log+trace 10%`,
    server: 'peer',
    route: 'knn',
    peer: { traceRatio: 0.1 },
  });
  return targets;
}

const progress = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      total += entry.isDirectory() ? dirBytes(p) : statSync(p).size;
    }
  } catch {
    // missing dir: 0
  }
  return total;
}

async function datasetFigures(
  label: string,
  env: Record<string, string>,
  options: { recommend: boolean; timeoutMs: number; cpu: number | undefined; scratch: string },
): Promise<DatasetFigures> {
  const cpu = options.cpu === undefined ? {} : { cpu: options.cpu };
  // An artifact directory that does not exist: every model is trained, none loaded.
  const probeEnv = { ...env, ARTIFACTS_DIR: join(options.scratch, 'no-artifacts') };
  try {
    progress(`training probe: ${label}`);
    const train = await runProbe<TrainProbeResult>('train', { env: probeEnv, timeoutMs: options.timeoutMs, ...cpu });
    progress(
      `  ${label}: generate ${(train.result.loadMs / 1000).toFixed(2)} s, train ${(train.result.totalTrainMs / 1000).toFixed(2)} s, peak RSS ${(train.result.maxRssBytes / 1e6).toFixed(0)} MB`,
    );
    let recommend: RecommendProbeResult | undefined;
    if (options.recommend) {
      progress(`recommend() probe: ${label}`);
      recommend = (
        await runProbe<RecommendProbeResult>('recommend', {
          env: probeEnv,
          nodeArgs: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'],
          timeoutMs: options.timeoutMs,
          ...cpu,
        })
      ).result;
      for (const m of recommend.models) {
        progress(`  ${label} ${m.model}: ${m.bytesPerCall.toFixed(0)} B/call, p50 ${m.p50Us.toFixed(1)} µs, p99 ${m.p99Us.toFixed(1)} µs`);
      }
    }
    return { label, status: 'ok', train: train.result, ...(recommend === undefined ? {} : { recommend }) };
  } catch (error) {
    progress(`  ${label}: FAILED ${(error as Error).message}`);
    return { label, status: 'failed', reason: (error as Error).message.slice(0, 300) };
  }
}

interface Pinning {
  description: string;
  serverCpu: number | undefined;
  loadgenCpu: number | undefined;
}

/** Step: servers on CPU 0, this process (autocannon) and the collector on CPU 1, if possible. */
function pinCpus(notes: string[]): Pinning {
  // Decided before this process pins itself (allowedCpus() remembers the original set).
  const pin = pinningStatus([SERVER_CPU, LOADGEN_CPU]);
  if (pin.available && pinProcess(process.pid, LOADGEN_CPU)) {
    return {
      description: `servers pinned to CPU ${SERVER_CPU}, load generator and collector to CPU ${LOADGEN_CPU} (taskset)`,
      serverCpu: SERVER_CPU,
      loadgenCpu: LOADGEN_CPU,
    };
  }
  notes.push(`CPU pinning unavailable: ${pin.reason ?? 'taskset -p failed'}`);
  return {
    description: `NOT pinned (${pin.reason ?? 'taskset -p failed'}): servers and load generator share CPUs, ratios are less reliable`,
    serverCpu: undefined,
    loadgenCpu: undefined,
  };
}

/** Step: the targets of this run (`--only`); undefined for an unknown id. */
function selectTargets(options: Options): TargetSpec[] | undefined {
  const targets = allTargets();
  if (options.only === undefined) return targets;
  const unknown = options.only.filter((id) => !targets.some((t) => t.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown target(s) ${unknown.join(', ')}; known: ${targets.map((t) => t.id).join(', ')}\n`);
    return undefined;
  }
  // The Express baseline is what every ratio is relative to, obs off what every mode is
  // compared with: always keep both.
  return targets.filter((t) => options.only?.includes(t.id) || t.id === 'bare-express' || t.id === 'knn/off');
}

interface CollectorState {
  collector: Collector | undefined;
  status: string;
  /** Why the tracing rows are skipped, if they are. */
  skip: string | undefined;
}

/** Step: a private collector, when any tracing mode is to run. */
async function startCollectorIfNeeded(options: Options, targets: TargetSpec[], tmpRoot: string, pinning: Pinning): Promise<CollectorState> {
  if (!targets.some(traced)) return { collector: undefined, status: 'not used', skip: undefined };
  if (!options.trace) return { collector: undefined, status: 'not used (--no-trace)', skip: '--no-trace' };
  progress('starting a private OpenTelemetry Collector (stack/stack.sh up otelcol)');
  const started = await startCollector({
    scratchDir: tmpRoot,
    timeoutMs: options.quick ? 120_000 : 20 * 60_000,
    ...(pinning.loadgenCpu === undefined ? {} : { cpu: pinning.loadgenCpu }),
  });
  if (!started.ok) {
    progress(`tracing rows skipped: ${started.reason}`);
    return { collector: undefined, status: `unavailable (${started.reason})`, skip: started.reason };
  }
  const collector = started.collector;
  onCleanup(() => collector.stop());
  progress(`collector up at ${collector.endpoint}`);
  return { collector, status: `otelcol at ${collector.endpoint}, OTLP/HTTP, file exporter`, skip: undefined };
}

interface Servers {
  launched: Map<string, LaunchedServer>;
  startErrors: Map<string, string>;
}

/** Step: one process per server id, pinned to the server CPU, started together. */
async function startServers(targets: TargetSpec[], ctx: LaunchContext, traceSkip: string | undefined, notes: string[]): Promise<Servers> {
  const specs: ServerSpec[] = [];
  for (const t of targets) {
    if (specs.some((s) => s.id === t.server)) continue;
    if (traced(t) && traceSkip !== undefined) continue;
    if (t.peer !== undefined) specs.push({ id: t.server, kind: 'peer', traceRatio: t.peer.traceRatio });
    else specs.push(t.baseline !== undefined ? { id: t.server, kind: t.baseline } : { id: t.server, kind: 'service', observability: t.observability ?? 'off' });
  }
  progress(`starting ${specs.length} servers: ${specs.map((s) => s.id).join(', ')}`);
  const launched = new Map<string, LaunchedServer>();
  const startErrors = new Map<string, string>();
  await Promise.all(
    specs.map(async (spec) => {
      try {
        const l = await launchServer(spec, ctx);
        launched.set(spec.id, l);
        onCleanup(() => l.server.stop());
      } catch (error) {
        startErrors.set(spec.id, `server did not start: ${(error as Error).message.split('\n').slice(0, 4).join(' | ')}`);
      }
    }),
  );
  if (ctx.cpu !== undefined && [...launched.values()].some((l) => !l.server.pinned)) notes.push('some servers could not be pinned');
  return { launched, startErrors };
}

/** Collector CPU and traced requests, per tracing mode, over the measured runs. */
type CollectorUse = Map<Observability, { requests: number; cpuSeconds: number }>;

interface Measured {
  raw: RawRow[];
  collectorUse: CollectorUse;
  /** Each measured (not warm-up) run of a traced row: which row, when. */
  windows: RunWindow[];
  profilingAb: ProfilingAb | undefined;
}

/** The A/B windows' rate for profiling's cost: two servers loaded at once, each at this share of capacity. */
const PROFILING_AB_SHARE = 0.25;

/**
 * Step: profiling's CPU per request by interleaved fixed-rate A/B windows (bench/ab.ts), obs
 * off and profiling loaded together, when both rows run. Closed-loop rounds at saturation
 * measure CPU per request while the server fights the machine for its core; here each
 * cycle's two windows see the same machine.
 */
async function measureProfilingAb(live: LiveTarget[], options: Options, headers: Record<string, string>, capacity: number, serverCpu: number | undefined): Promise<ProfilingAb | undefined> {
  const off = live.find((t) => t.spec.id === 'knn/off');
  const on = live.find((t) => t.spec.id === 'knn/profile');
  if (off?.server === undefined || on?.server === undefined || !(capacity > 0)) return undefined;
  const rate = Math.max(10, Math.round((capacity * PROFILING_AB_SHARE) / 10) * 10);
  const cycles = options.quick ? 3 : 8;
  const windowSeconds = options.quick ? 5 : 10;
  progress(`profiling's cost: ${cycles} A/B cycles of ${windowSeconds}-s windows, obs off and profiling loaded together at ${rate} rps each, then idle`);
  const run = await runAbWindows({
    arms: [
      { name: 'off', server: off.server },
      { name: 'profile', server: on.server },
    ],
    paths: off.paths,
    headers,
    rate,
    windowSeconds,
    cycles,
    warmupSeconds: 0,
    connections: options.connections,
    serverCpu,
    together: true,
    idleSeconds: options.quick ? 3 : 5,
    progress,
  });
  const [offSummary, onSummary] = summariseAb(run.windows, 'off', run.idle);
  if (offSummary === undefined || onSummary === undefined) return undefined;
  const split = splitCost(onSummary, offSummary, rate);
  return {
    rate,
    windowSeconds,
    ratio: onSummary.ratio,
    ratios: onSummary.ratios,
    offCpuUs: offSummary.cpuUs.median,
    onCpuUs: onSummary.cpuUs.median,
    fixedUsPerSecond: split.fixedUsPerSecond,
    perRequestUs: split.perRequestUs,
    loadAverage: (run.loadAverageStart + run.loadAverageEnd) / 2,
    othersOnCpu: median(run.windows.map((w) => w.othersOnCpu ?? Number.NaN)),
  };
}

/** Step: warm-up and interleaved closed-loop rounds, then every knn mode at a fixed open-loop rate. */
async function measure(live: LiveTarget[], options: Options, apiKey: string, collector: Collector | undefined, serverCpu: number | undefined): Promise<Measured> {
  const collectorUse: CollectorUse = new Map();
  const windows: RunWindow[] = [];
  let cpuBefore: number | undefined;
  let runStart = 0;
  const measureOptions = {
    rounds: options.rounds,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    connections: options.connections,
    headers: { authorization: `Bearer ${apiKey}` },
    extraPids: () => (collector?.pid === undefined ? [] : [collector.pid]),
    beforeRun: (t: LiveTarget) => {
      runStart = Date.now();
      cpuBefore = tracesIn(t.spec.observability) && collector?.pid !== undefined ? processCpuSeconds(collector.pid) : undefined;
    },
    afterRun: (t: LiveTarget, sample: Sample) => {
      if (traced(t.spec) && sample.round >= 0) windows.push({ rowId: t.spec.id, start: runStart, end: Date.now() });
      const mode = t.spec.observability;
      if (mode === undefined || !tracesIn(mode)) return;
      const use = collectorUse.get(mode) ?? { requests: 0, cpuSeconds: 0 };
      use.requests += sample.responses;
      const now = collector?.pid === undefined ? undefined : processCpuSeconds(collector.pid);
      if (cpuBefore !== undefined && now !== undefined) use.cpuSeconds += now - cpuBefore;
      collectorUse.set(mode, use);
    },
    progress,
  };
  const raw = await measureTargets(live, measureOptions);

  // Latency under a fixed load: every knn mode again at a share of obs-off's capacity.
  const knnOff = raw.find((r) => r.spec.id === 'knn/off');
  const capacity = median(knnOff?.rounds.map((s) => s.rps) ?? []);
  if (options.rateShare > 0 && Number.isFinite(capacity) && capacity > 0) {
    const rate = Math.max(10, Math.round((capacity * options.rateShare) / 10) * 10);
    const rateLive: LiveTarget[] = live
      .filter((t) => t.spec.route === 'knn' && (t.spec.observability !== undefined || t.spec.peer !== undefined))
      .map((t) => ({ ...t, spec: { ...t.spec, id: `${t.spec.id}@rate`, label: `${t.spec.label} @ ${rate} rps`, rate } }));
    // --quick: one round, enough for a CI smoke check of the open-loop path.
    const rounds = options.quick ? 1 : options.rounds;
    progress(`latency at a fixed ${rate} rps (${Math.round(options.rateShare * 100)}% of /reco/knn obs-off capacity), open loop, ${rounds} round(s)`);
    raw.push(...(await measureTargets(rateLive, { ...measureOptions, rounds, warmupSeconds: 0 })));
  }

  // Delivery under a fixed load near capacity: each traced row again at a share of its own rps.
  if (options.deliveryShare > 0) {
    const deliveryLive: LiveTarget[] = [];
    for (const t of live.filter((x) => traced(x.spec) && x.spec.rate === undefined && x.server !== undefined)) {
      const own = median(raw.find((r) => r.spec.id === t.spec.id)?.rounds.map((s) => s.rps) ?? []);
      if (!(Number.isFinite(own) && own > 0)) continue;
      const rate = Math.max(10, Math.round((own * options.deliveryShare) / 10) * 10);
      const share = Math.round(options.deliveryShare * 100);
      deliveryLive.push({ ...t, spec: { ...t.spec, id: `${t.spec.id}@${share}%cap`, label: `${t.spec.label} @ ${rate} rps (${share}% of its capacity)`, rate } });
    }
    if (deliveryLive.length > 0) {
      const rounds = options.quick ? 1 : options.rounds;
      progress(`traced rows at ${Math.round(options.deliveryShare * 100)}% of their own capacity, open loop, ${rounds} round(s): sampled traces delivered`);
      raw.push(...(await measureTargets(deliveryLive, { ...measureOptions, rounds, warmupSeconds: 0 })));
    }
  }
  const profilingAb = await measureProfilingAb(live, options, measureOptions.headers, capacity, serverCpu);
  return { raw, collectorUse, windows, profilingAb };
}

function busyMachineNote(rows: RowResult[]): string | undefined {
  const serviceCpu = median(rows.filter((r) => r.spec.observability !== undefined && r.spec.rate === undefined).map((r) => r.serverCpu));
  if (!(serviceCpu < 0.9)) return undefined;
  return (
    `BUSY MACHINE: the service got only ${Math.round(serviceCpu * 100)}% of CPU 0 (median over the saturated service rows; ` +
    'a quiet machine gives ~100%): other processes competed for the core, so rps and rps ratios are unreliable; ' +
    '"CPU µs/req" (server CPU per response) and its ratio to obs off are still the per-request cost'
  );
}

/** Step: the metrics endpoint of each metrics mode, asked once while the servers still run. */
async function metricsNotes(servers: Servers): Promise<string[]> {
  const notes: string[] = [];
  for (const [id, l] of servers.launched) {
    if (l.metricsPort === undefined) continue;
    const status = await probe(`http://127.0.0.1:${l.metricsPort}/metrics`);
    notes.push(
      status === 200
        ? `${id}: GET /metrics on METRICS_PORT ${l.metricsPort} answered 200 (metrics on)`
        : `${id}: no metrics endpoint answered on METRICS_PORT ${l.metricsPort} (${status === undefined ? 'connection refused' : `HTTP ${status}`}): this build has no metrics, so the mode ran without them`,
    );
  }
  return notes;
}

/** Step: what observability wrote — log bytes per request and spans per traced request, per mode. */
async function outputNotes(rows: RowResult[], servers: Servers, tmpRoot: string, collector: Collector | undefined, use: CollectorUse, options: Options): Promise<string[]> {
  const notes: string[] = [];
  const responsesOf = (r: RowResult): number => [...(r.warmup === undefined ? [] : [r.warmup]), ...r.rounds].reduce((m, s) => m + s.responses, 0);
  // Stopped (and so flushed) before their output is measured.
  for (const l of servers.launched.values()) await l.server.stop();
  for (const mode of OBSERVABILITY_MODES.filter((m) => MODE_PARTS[m].fileLog)) {
    const requests = rows.filter((r) => r.spec.observability === mode).reduce((n, r) => n + responsesOf(r), 0);
    if (requests === 0) continue;
    const bytes = dirBytes(join(tmpRoot, `svc-${mode}`, 'logs'));
    notes.push(`${OBSERVABILITY_LABEL[mode]}: ${(bytes / requests).toFixed(0)} bytes of log per request (${requests} requests)`);
  }
  if (collector === undefined) return notes;
  await collector.stop();
  const counts = await countSpans(collector.spanFile);
  for (const [mode, u] of use) {
    if (u.requests === 0) continue;
    const c = counts.get(benchServiceName(mode)) ?? { spans: 0, roots: 0, bytes: 0 };
    const ratio = MODE_PARTS[mode].traceRatio ?? 1;
    const overridden = options.serviceEnv.OTEL_TRACES_SAMPLER !== undefined;
    notes.push(
      `${OBSERVABILITY_LABEL[mode]}: the collector received ${c.roots} request traces for ${u.requests} measured requests ` +
        `(${((c.roots / u.requests) * 100).toFixed(1)}%; sampler ${overridden ? `overridden by --env` : `keeps ${ratio * 100}% of new traces`}; warm-ups add a few), ` +
        `${(c.spans / Math.max(c.roots, 1)).toFixed(1)} spans and ${(c.bytes / Math.max(c.roots, 1)).toFixed(0)} bytes of OTLP JSON per trace in the file exporter; ` +
        `collector CPU ${((u.cpuSeconds / u.requests) * 1e6).toFixed(0)} µs per request (on the load generator's core)`,
    );
  }
  return notes;
}

/**
 * Step (servers and collector stopped): per traced row, the sampled traces of its measured
 * runs (from its server's access lines) and how many reached the collector (bench/delivery.ts).
 */
async function countDeliveries(rows: RowResult[], tmpRoot: string, collector: Collector, windows: RunWindow[]): Promise<void> {
  const delivered = await deliveredTraceIds(collector.spanFile);
  const servers = new Set(rows.filter((r) => traced(r.spec)).map((r) => r.spec.server));
  for (const server of servers) {
    const serverRows = rows.filter((r) => r.spec.server === server && traced(r.spec));
    const ratio = traceRatioOf(serverRows[0]!.spec) ?? 1;
    const ids = new Set(serverRows.map((r) => r.spec.id));
    const sampled = await sampledTraceIds(join(tmpRoot, server, 'logs'), windows.filter((w) => ids.has(w.rowId)), ratio);
    for (const row of serverRows) if (row.status !== 'skipped') row.delivery = deliveryOf(sampled.get(row.spec.id), delivered);
  }
}

interface Models {
  datasets: DatasetFigures[];
  kion: DatasetFigures | undefined;
  kionNote: string | undefined;
}

/** Step: training time and peak RSS per dataset, allocation and time per recommend(). */
async function measureModels(options: Options, cpu: number | undefined, tmpRoot: string, seed: number): Promise<Models> {
  const datasets: DatasetFigures[] = [];
  datasets.push(await datasetFigures('default synthetic', { DATASET: 'synthetic' }, { recommend: true, timeoutMs: 10 * 60_000, cpu, scratch: tmpRoot }));
  if (options.kion === 'skip') {
    const kionNote = options.quick ? 'skipped with --quick' : 'skipped (--kion skip)';
    datasets.push({ label: 'Kion-scale synthetic', status: 'skipped', reason: kionNote });
    return { datasets, kion: undefined, kionNote };
  }
  const f = options.kion === 'full' ? 1 : options.kion;
  const label = f === 1 ? 'Kion-scale synthetic' : `Kion-scale × ${f} (FRACTION: users and interactions × ${f}, items full)`;
  const kion = await datasetFigures(
    label,
    {
      DATASET: 'synthetic',
      SYNTHETIC_USERS: String(Math.round(KION_PRESET.users * f)),
      SYNTHETIC_ITEMS: String(KION_PRESET.items),
      SYNTHETIC_INTERACTIONS: String(Math.round(KION_PRESET.interactions * f)),
      SYNTHETIC_SEED: String(seed),
    },
    { recommend: !options.quick, timeoutMs: 30 * 60_000, cpu, scratch: tmpRoot },
  );
  datasets.push(kion);
  return { datasets, kion, kionNote: f === 1 ? undefined : `measured on a ${f} fraction, not full Kion scale` };
}

/** Step: results.json, results.md and the printed table. */
function writeReport(report: BenchReport, outDir: string, startedAt: number): void {
  const elapsed = (performance.now() - startedAt) / 1000;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ kind: 'recoscope-bench', version: 2, elapsedSeconds: elapsed, ...report }, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(join(outDir, 'results.md'), markdown);
  const docs = writePerformanceSection(markdown);
  process.stdout.write(`${renderText(report)}\n`);
  progress(`done in ${elapsed.toFixed(0)} s; wrote ${join(outDir, 'results.json')}, results.md${docs ? ' and the generated section of docs/performance.md' : ''}`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      const message = error.message;
      process.stderr.write(`${message === '' ? '' : `bench: ${message}\n`}${USAGE}\n`);
      return message === '' ? 0 : 2;
    }
    throw error;
  }
  installSignalCleanup();
  const startedAt = performance.now();
  const machine = machineInfo();
  const notes: string[] = [];

  const pinning = pinCpus(notes);
  progress(pinning.description);
  if (Object.keys(options.serviceEnv).length > 0) {
    notes.push(`EXPERIMENT: every service instance ran with ${Object.entries(options.serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  const targets = selectTargets(options);
  if (targets === undefined) return 2;

  const tmpRoot = mkdtempSync(join(tmpdir(), 'recoscope-bench-'));
  removeDirOnCleanup(tmpRoot);
  const apiKey = randomBytes(18).toString('base64url');
  const defaults = loadConfig({});

  const collector = await startCollectorIfNeeded(options, targets, tmpRoot, pinning);
  // The direct-shipping row ships to a private Elasticsearch node, started only for it.
  let esUrl: string | undefined;
  let directSkip: string | undefined;
  if (targets.some((t) => shipsDirect(t.observability))) {
    progress('starting a private Elasticsearch for the direct-shipping row (stack/stack.sh up es)');
    const started = await startElasticsearch({
      scratchDir: tmpRoot,
      timeoutMs: options.quick ? 300_000 : 20 * 60_000,
      ...(pinning.loadgenCpu === undefined ? {} : { cpu: pinning.loadgenCpu }),
    });
    if (started.ok) {
      const node = started.es;
      onCleanup(() => node.stop());
      esUrl = node.url;
      progress(`Elasticsearch up at ${esUrl}`);
    } else {
      directSkip = started.reason;
      progress(`direct-shipping row skipped: ${started.reason}`);
    }
  }
  const ctx: LaunchContext = {
    tmpRoot,
    apiKey,
    serviceEnv: {},
    overrideEnv: options.serviceEnv,
    startTimeoutMs: 5 * 60_000,
    ...(collector.collector === undefined ? {} : { otlpEndpoint: collector.collector.endpoint }),
    ...(esUrl === undefined ? {} : { esUrl }),
    ...(pinning.serverCpu === undefined ? {} : { cpu: pinning.serverCpu }),
  };
  const servers = await startServers(
    targets.filter((t) => !(shipsDirect(t.observability) && directSkip !== undefined)),
    ctx,
    collector.skip,
    notes,
  );

  const live: LiveTarget[] = targets.map((spec) => {
    const target: LiveTarget = { spec, paths: scenarioPaths({ scenario: spec.route, knownUsers: defaults.dataset.synthetic.users }) };
    if (traced(spec) && collector.skip !== undefined) target.skipped = collector.skip;
    else if (shipsDirect(spec.observability) && directSkip !== undefined) target.skipped = directSkip;
    else if (servers.startErrors.has(spec.server)) target.crashed = servers.startErrors.get(spec.server);
    else target.server = servers.launched.get(spec.server)?.server;
    return target;
  });
  const { raw, collectorUse, windows, profilingAb } = await measure(live, options, apiKey, collector.collector, pinning.serverCpu);
  const rows = summarise(raw, options.rounds);
  const busy = busyMachineNote(rows);
  if (busy !== undefined) notes.push(busy);
  notes.push(...(await metricsNotes(servers)));
  notes.push(...(await outputNotes(rows, servers, tmpRoot, collector.collector, collectorUse, options)));
  if (collector.collector !== undefined) await countDeliveries(rows, tmpRoot, collector.collector, windows);

  const models = await measureModels(options, pinning.serverCpu, tmpRoot, defaults.dataset.synthetic.seed);
  const kionFull = options.kion === 'full' && models.kion?.status === 'ok' && models.kion.train !== undefined;
  const targetChecks = evaluateTargets({
    rows,
    ...(profilingAb === undefined ? {} : { profilingAb }),
    connections: options.connections,
    ...(kionFull && models.kion?.train !== undefined
      ? { kion: { trainSeconds: models.kion.train.totalTrainMs / 1000, maxRssBytes: models.kion.train.maxRssBytes } }
      : {}),
    ...(models.kionNote === undefined ? {} : { kionNote: models.kionNote }),
  });
  notes.push(
    'alloc/call: heapUsed growth over N back-to-back recommend() calls with no GC in between (young generation fixed at 64 MB, GC observer verified) / N; see bench/README.md',
  );

  const report: BenchReport = {
    machine,
    settings: {
      mode: options.quick ? 'quick' : 'full',
      rounds: options.rounds,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      connections: options.connections,
      pinning: pinning.description,
      collector: collector.status,
    },
    rows,
    datasets: models.datasets,
    targets: targetChecks,
    notes,
    failed: rows.some((r) => r.status === 'failed') || models.datasets.some((x) => x.status === 'failed'),
  };
  writeReport(report, options.outDir, startedAt);
  await cleanup();
  return report.failed ? 1 : 0;
}

if (require.main === module) {
  // process.exit: the load generator may leave timers behind; a failure stops the servers first.
  runCli('bench', USAGE, main, { exit: true, onFailure: cleanup });
}
