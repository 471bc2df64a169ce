/**
 * `npm run bench [-- --quick]`: throughput, latency and the cost of observability, as ratios
 * measured in one run on one machine. See bench/README.md for the method.
 *
 * Servers run pinned to CPU 0, this process (the load generator) and the collector to CPU 1.
 * Prints one table, writes bench/results.json and bench/results.md, exits 1 when any row
 * had errors or non-2xx responses (a failed measurement) and 2 on bad arguments.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { loadConfig } from '../src/config';
import { KION_PRESET } from '../src/data/synthetic';
import { type ChildServer } from '../loadtest/child-server';
import { PROJECT_ROOT } from '../src/paths';
import { pinProcess, pinningStatus, processCpuSeconds } from '../loadtest/cpu';
import { cleanup, installSignalCleanup, onCleanup, removeDirOnCleanup } from './cleanup';
import { countSpans, startCollector, type Collector } from './collector';
import { machineInfo } from './machine';
import { runProbe } from './probes/protocol';
import type { RecommendProbeResult } from './probes/recommend';
import type { TrainProbeResult } from './probes/train';
import { renderMarkdown, renderText, type BenchReport, type DatasetFigures } from './report';
import { launchServer, OBSERVABILITY_LABEL, type LaunchContext, type ServerSpec } from './servers';
import { median } from './stats';
import { evaluateTargets, summarise, type Route, type Sample, type TargetSpec } from './summary';
import { measureTargets, type LiveTarget } from './throughput';
import { scenarioPaths } from './paths';

export const SERVER_CPU = 0;
export const LOADGEN_CPU = 1;

const USAGE = `usage: npm run bench [-- options]
  --quick            CI mode: 2 rounds × 3 s, 1 s warm-up, 16 connections, no Kion-scale training
  --rounds N         rounds per target (default 5)
  --duration S       seconds per run (default 5)
  --warmup S         warm-up seconds per target (default 3; 0 = none)
  --connections N    concurrent keep-alive connections (default 50)
  --kion full|skip|F Kion-scale training: full size, skipped, or a fraction F in (0,1) of its
                     users and interactions (clearly labelled) (default full; skip with --quick)
  --rate-share F     also measure /reco/knn latency at a fixed rate of F × its obs-off
                     capacity (default 0.5; 0 with --quick; 0 = off)
  --no-trace         skip the logging+tracing rows (no collector)
  --only a,b         only these targets (ids: bare-http, bare-express, health/off, knn/trace, ...)
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
  only: string[] | undefined;
  /** Extra service environment (--env), applied after the mode's own settings. */
  serviceEnv: Record<string, string>;
  outDir: string;
}

function positive(text: string | undefined, fallback: number, name: string, allowZero = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${text}'`);
  return n;
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
    rounds: Math.round(positive(values.rounds, quick ? 2 : 5, 'rounds')),
    durationSeconds: positive(values.duration, quick ? 3 : 5, 'duration'),
    warmupSeconds: positive(values.warmup, quick ? 1 : 3, 'warmup', true),
    connections: Math.round(positive(values.connections, quick ? 16 : 50, 'connections')),
    kion,
    trace: !values['no-trace'],
    rateShare: Math.min(1, positive(values['rate-share'], quick ? 0 : 0.5, 'rate-share', true)),
    only: values.only?.split(',').map((s) => s.trim()),
    serviceEnv,
    outDir: resolve(values.out ?? join(PROJECT_ROOT, 'bench')),
  };
}

const ROUTE_PATH: Record<Route, string> = { health: '/health', popular: '/reco/popular', knn: '/reco/knn' };

export function allTargets(): TargetSpec[] {
  const targets: TargetSpec[] = [
    { id: 'bare-http', label: 'bare node:http /health', server: 'bare-http', route: 'health', baseline: 'bare-http' },
    { id: 'bare-express', label: 'bare Express 5 /health', server: 'bare-express', route: 'health', baseline: 'bare-express' },
  ];
  for (const route of ['health', 'popular', 'knn'] as const) {
    for (const obs of ['off', 'log', 'trace'] as const) {
      targets.push({
        id: `${route}/${obs}`,
        label: `${ROUTE_PATH[route]} · ${OBSERVABILITY_LABEL[obs]}`,
        server: `svc-${obs}`,
        route,
        observability: obs,
      });
    }
  }
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

  // Pinning: servers on CPU 0, this process (autocannon) on CPU 1. Decided before this
  // process pins itself (allowedCpus() remembers the original set).
  const pin = pinningStatus([SERVER_CPU, LOADGEN_CPU]);
  let pinning: string;
  let serverCpu: number | undefined;
  let loadgenCpu: number | undefined;
  if (pin.available && pinProcess(process.pid, LOADGEN_CPU)) {
    serverCpu = SERVER_CPU;
    loadgenCpu = LOADGEN_CPU;
    pinning = `servers pinned to CPU ${SERVER_CPU}, load generator and collector to CPU ${LOADGEN_CPU} (taskset)`;
  } else {
    pinning = `NOT pinned (${pin.reason ?? 'taskset -p failed'}): servers and load generator share CPUs, ratios are less reliable`;
    notes.push(`CPU pinning unavailable: ${pin.reason ?? 'taskset -p failed'}`);
  }
  progress(pinning);
  if (Object.keys(options.serviceEnv).length > 0) {
    notes.push(`EXPERIMENT: every service instance ran with ${Object.entries(options.serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }

  const tmpRoot = mkdtempSync(join(tmpdir(), 'recoscope-bench-'));
  removeDirOnCleanup(tmpRoot);
  const apiKey = randomBytes(18).toString('base64url');
  const defaults = loadConfig({});

  let targets = allTargets();
  if (options.only !== undefined) {
    const unknown = options.only.filter((id) => !targets.some((t) => t.id === id));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown target(s) ${unknown.join(', ')}; known: ${targets.map((t) => t.id).join(', ')}\n`);
      await cleanup();
      return 2;
    }
    // The Express baseline is what every ratio is relative to: always keep it.
    targets = targets.filter((t) => options.only?.includes(t.id) || t.id === 'bare-express');
  }
  const wantTrace = targets.some((t) => t.observability === 'trace');

  // The collector, if tracing rows are wanted.
  let collector: Collector | undefined;
  let collectorStatus = 'not used';
  let traceSkip: string | undefined;
  if (wantTrace && !options.trace) {
    traceSkip = '--no-trace';
  } else if (wantTrace) {
    progress('starting a private OpenTelemetry Collector (stack/stack.sh up otelcol)');
    const started = await startCollector({
      scratchDir: tmpRoot,
      timeoutMs: options.quick ? 120_000 : 20 * 60_000,
      ...(loadgenCpu === undefined ? {} : { cpu: loadgenCpu }),
    });
    if (started.ok) {
      collector = started.collector;
      onCleanup(() => collector?.stop());
      collectorStatus = `otelcol at ${collector.endpoint}, OTLP/HTTP, file exporter`;
      progress(`collector up at ${collector.endpoint}`);
    } else {
      traceSkip = started.reason;
      collectorStatus = `unavailable (${started.reason})`;
      progress(`tracing rows skipped: ${started.reason}`);
    }
  }

  // Servers, pinned to CPU 0; started together (they train the default dataset at start-up).
  const ctx: LaunchContext = {
    tmpRoot,
    apiKey,
    serviceEnv: {},
    overrideEnv: options.serviceEnv,
    startTimeoutMs: 5 * 60_000,
    ...(collector === undefined ? {} : { otlpEndpoint: collector.endpoint }),
    ...(serverCpu === undefined ? {} : { cpu: serverCpu }),
  };
  const serverSpecs: ServerSpec[] = [];
  for (const t of targets) {
    if (serverSpecs.some((s) => s.id === t.server)) continue;
    if (t.observability === 'trace' && traceSkip !== undefined) continue;
    serverSpecs.push(
      t.baseline !== undefined
        ? { id: t.server, kind: t.baseline }
        : { id: t.server, kind: 'service', observability: t.observability ?? 'off' },
    );
  }
  progress(`starting ${serverSpecs.length} servers: ${serverSpecs.map((s) => s.id).join(', ')}`);
  const servers = new Map<string, ChildServer>();
  const startErrors = new Map<string, string>();
  await Promise.all(
    serverSpecs.map(async (spec) => {
      try {
        const server = await launchServer(spec, ctx);
        servers.set(spec.id, server);
        onCleanup(() => server.stop());
      } catch (error) {
        startErrors.set(spec.id, `server did not start: ${(error as Error).message.split('\n').slice(0, 4).join(' | ')}`);
      }
    }),
  );
  if (serverSpecs.some((s) => servers.get(s.id)?.pinned === false) && serverCpu !== undefined) {
    notes.push('some servers could not be pinned');
  }

  const pathsFor = (route: Route): string[] => scenarioPaths({ scenario: route, knownUsers: defaults.dataset.synthetic.users });
  const live: LiveTarget[] = targets.map((spec) => {
    const target: LiveTarget = { spec, paths: pathsFor(spec.route) };
    if (spec.observability === 'trace' && traceSkip !== undefined) target.skipped = traceSkip;
    else if (startErrors.has(spec.server)) target.crashed = startErrors.get(spec.server);
    else target.server = servers.get(spec.server);
    return target;
  });

  // Collector CPU spent during the tracing rows, and how many requests they made.
  let collectorCpu = 0;
  let tracedRequests = 0;
  let cpuBefore: number | undefined;
  const measureOptions = {
    rounds: options.rounds,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    connections: options.connections,
    headers: { authorization: `Bearer ${apiKey}` },
    extraPids: () => (collector?.pid === undefined ? [] : [collector.pid]),
    beforeRun: (t: LiveTarget) => {
      cpuBefore = t.spec.observability === 'trace' && collector?.pid !== undefined ? processCpuSeconds(collector.pid) : undefined;
    },
    afterRun: (t: LiveTarget, sample: Sample) => {
      if (t.spec.observability !== 'trace') return;
      tracedRequests += sample.responses;
      const now = collector?.pid === undefined ? undefined : processCpuSeconds(collector.pid);
      if (cpuBefore !== undefined && now !== undefined) collectorCpu += now - cpuBefore;
    },
    progress,
  };
  const raw = await measureTargets(live, measureOptions);

  // Latency under a fixed load: the knn rows again at a share of obs-off's capacity.
  const knnOff = raw.find((r) => r.spec.id === 'knn/off');
  const capacity = median(knnOff?.rounds.map((s) => s.rps) ?? []);
  if (options.rateShare > 0 && Number.isFinite(capacity) && capacity > 0) {
    const rate = Math.max(10, Math.round((capacity * options.rateShare) / 10) * 10);
    const rateLive: LiveTarget[] = live
      .filter((t) => t.spec.route === 'knn' && t.spec.observability !== undefined)
      .map((t) => ({
        ...t,
        spec: { ...t.spec, id: `${t.spec.id}@rate`, label: `${t.spec.label} @ ${rate} rps`, rate },
      }));
    progress(`latency at a fixed ${rate} rps (${Math.round(options.rateShare * 100)}% of /reco/knn obs-off capacity)`);
    raw.push(...(await measureTargets(rateLive, { ...measureOptions, warmupSeconds: 0 })));
  }
  const rows = summarise(raw, options.rounds);
  const serviceCpu = median(rows.filter((r) => r.spec.observability !== undefined && r.spec.rate === undefined).map((r) => r.serverCpu));
  if (serviceCpu < 0.9) {
    notes.push(
      `BUSY MACHINE: the service got only ${Math.round(serviceCpu * 100)}% of CPU 0 (median over the saturated service rows; ` +
        'a quiet machine gives ~100%): other processes competed for the core, so rps and rps ratios are unreliable; ' +
        '"CPU µs/req" (server CPU per response) is still the per-request cost',
    );
  }

  // What observability wrote: log bytes and spans per request.
  const responsesOf = (r: (typeof rows)[number]): number =>
    [...(r.warmup === undefined ? [] : [r.warmup]), ...r.rounds].reduce((m, s) => m + s.responses, 0);
  const logRequests = rows.filter((r) => r.spec.observability === 'log').reduce((n, r) => n + responsesOf(r), 0);
  // Stopped (and so flushed) before their output is measured.
  for (const s of servers.values()) await s.stop();
  const logBytes = dirBytes(join(tmpRoot, 'svc-log', 'logs'));
  if (logRequests > 0) notes.push(`file logging wrote ${(logBytes / logRequests).toFixed(0)} bytes of log per request (${logRequests} requests)`);
  if (collector !== undefined) {
    await collector.stop();
    const spans = await countSpans(collector.spanFile);
    if (tracedRequests > 0) {
      const dropped = tracedRequests - spans.roots;
      const sampled = (options.serviceEnv.OTEL_TRACES_SAMPLER ?? 'always_on') !== 'always_on';
      notes.push(
        `tracing: the collector received ${spans.roots} request traces for ${tracedRequests} traced requests` +
          (dropped <= 0
            ? ' (none lost)'
            : ` (${dropped} = ${((dropped / tracedRequests) * 100).toFixed(1)}% missing: ${
                sampled ? `sampled out by --env OTEL_TRACES_SAMPLER=${options.serviceEnv.OTEL_TRACES_SAMPLER}, or ` : ''
              }dropped by the SDK's span queue, or not flushed)`) +
          `, ${(spans.spans / Math.max(spans.roots, 1)).toFixed(1)} spans per trace, ${(spans.bytes / Math.max(spans.roots, 1)).toFixed(0)} bytes of OTLP JSON per trace in the file exporter; ` +
          `collector CPU ${((collectorCpu / tracedRequests) * 1e6).toFixed(0)} µs per request (on the load generator's core)`,
      );
    }
  }

  // Models: training time and peak RSS per dataset, allocation and time per recommend().
  const probeCpu = serverCpu;
  const datasets: DatasetFigures[] = [];
  const d = defaults.dataset.synthetic;
  datasets.push(
    await datasetFigures(
      `default synthetic`,
      { DATASET: 'synthetic' },
      { recommend: true, timeoutMs: 10 * 60_000, cpu: probeCpu, scratch: tmpRoot },
    ),
  );
  let kionNote: string | undefined;
  let kion: DatasetFigures | undefined;
  if (options.kion === 'skip') {
    kionNote = options.quick ? 'skipped with --quick' : 'skipped (--kion skip)';
    datasets.push({ label: 'Kion-scale synthetic', status: 'skipped', reason: kionNote });
  } else {
    const f = options.kion === 'full' ? 1 : options.kion;
    const users = Math.round(KION_PRESET.users * f);
    const interactions = Math.round(KION_PRESET.interactions * f);
    const label = f === 1 ? 'Kion-scale synthetic' : `Kion-scale × ${f} (FRACTION: users and interactions × ${f}, items full)`;
    kion = await datasetFigures(
      label,
      {
        DATASET: 'synthetic',
        SYNTHETIC_USERS: String(users),
        SYNTHETIC_ITEMS: String(KION_PRESET.items),
        SYNTHETIC_INTERACTIONS: String(interactions),
        SYNTHETIC_SEED: String(d.seed),
      },
      { recommend: !options.quick, timeoutMs: 30 * 60_000, cpu: probeCpu, scratch: tmpRoot },
    );
    datasets.push(kion);
    if (f !== 1) kionNote = `measured on a ${f} fraction, not full Kion scale`;
  }

  const anyRowFailed = rows.some((r) => r.status === 'failed');
  const anyProbeFailed = datasets.some((x) => x.status === 'failed');
  const kionFull = options.kion === 'full' && kion?.status === 'ok' && kion.train !== undefined;
  const targetChecks = evaluateTargets({
    rows,
    connections: options.connections,
    ...(kionFull && kion?.train !== undefined
      ? { kion: { trainSeconds: kion.train.totalTrainMs / 1000, maxRssBytes: kion.train.maxRssBytes } }
      : {}),
    ...(kionNote === undefined ? {} : { kionNote }),
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
      pinning,
      collector: collectorStatus,
    },
    rows,
    datasets,
    targets: targetChecks,
    notes,
    failed: anyRowFailed || anyProbeFailed,
  };
  const elapsed = (performance.now() - startedAt) / 1000;
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'results.json'), `${JSON.stringify({ kind: 'recoscope-bench', version: 1, elapsedSeconds: elapsed, ...report }, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'results.md'), renderMarkdown(report));
  process.stdout.write(`${renderText(report)}\n`);
  progress(`done in ${elapsed.toFixed(0)} s; wrote ${join(options.outDir, 'results.json')} and results.md`);
  await cleanup();
  return report.failed ? 1 : 0;
}

if (require.main === module) {
  // process.exit: the load generator may leave timers behind; a failure stops the servers first.
  runCli('bench', USAGE, main, { exit: true, onFailure: cleanup });
}
