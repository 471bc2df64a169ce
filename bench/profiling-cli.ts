/**
 * `npm run bench:profiling`: what continuous profiling costs per /reco/knn request, by the
 * interleaved fixed-rate A/B method of bench/ab.ts: the service with observability off and
 * the same service with PROFILING_ENABLED=true, windows off / on / off / on … at one request
 * rate, server CPU per request from /proc, the median of the paired ratios and its spread.
 * Each arm is `--instances` servers whose windows are pooled (bench/ab.ts poolInstances: one
 * server can stay a few percent off an identical one for its whole life).
 *
 * `--variant` adds more profiled arms: another build (`before=/path/to/dist/src/main.js`, a
 * before/after comparison in one run) or other settings (`hz10,PROFILING_HZ=10`). `--aa` adds
 * a second obs-off server: its ratio to the first is the method's own noise floor. `--floor`
 * adds what any sampler in the process pays on this machine before ours does anything (V8's
 * own profiler alone; a thread that only wakes at the same rate).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { numberOption, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { loadConfig } from '../src/config';
import { PROJECT_ROOT } from '../src/paths';
import { pinProcess, pinningStatus } from '../loadtest/cpu';
import { poolInstances, runAbWindows, splitCost, summariseAb, type AbArm, type AbRun, type ArmSummary } from './ab';
import { cleanup, installSignalCleanup, onCleanup, removeDirOnCleanup } from './cleanup';
import { textTable } from './format';
import { machineInfo, machineLines } from './machine';
import { scenarioPaths } from './paths';
import type { SamplerFloorKind } from './probes/sampler-floor';
import { BENCH_PROFILING_HZ, launchServer, SAMPLER_FLOOR_JS, type LaunchContext, type ServerSpec } from './servers';
import { median } from './stats';
import { breakEvenRate, breakEvenText } from './summary';

const SERVER_CPU = 0;
const LOADGEN_CPU = 1;

const USAGE = `usage: npm run bench:profiling [-- options]
  --rate N           requests per second to each server, open loop (Poisson arrivals), in every
                     window (default 400: three arms of three servers at once keep one core of
                     this machine ~55 % busy at 150 µs per request; nearer saturation, the
                     profiled servers' ratios jumped by up to 1.4× from one window to the next)
  --instances N      servers per arm, their windows pooled (default 3)
  --window S         seconds per window (default 10: one profile cut per window at the default period)
  --cycles N         cycles of one window per arm (default 8)
  --warmup S         seconds of load on every server before the first cycle (default 20)
  --connections N    most sockets open at once (default 16)
  --hz N             PROFILING_HZ of the profiled arm (default ${BENCH_PROFILING_HZ})
  --variant SPEC     another profiled arm: name[=path/to/main.js][,KEY=VALUE…] (repeatable)
  --aa               a second obs-off arm (its ratio to the first is the method's noise)
  --floor            two obs-off arms with what is under any in-process sampler here: V8's
                     own CPU profiler at --hz (node:inspector, no @datadog/pprof, no labels)
                     and a thread that only wakes at --hz (the timer wake-up alone)
  --idle S           seconds without requests after each cycle, every arm at once: the part
                     of the cost paid per second whatever the load (default 5; 0 = none)
  --one-at-a-time    load one arm per window, one after the other, instead of every arm at
                     once (the default: whatever the machine does to the core — other work,
                     its speed from second to second — then hits both sides of each ratio;
                     one at a time, an A/A pair of windows differed by up to ±15 % here)
  --out FILE         JSON of every window (default bench/results-profiling.json)`;

/** `--floor`'s arms: obs off, with bench/probes/sampler-floor.ts preloaded. */
const FLOOR_ARMS: readonly { name: string; kind: SamplerFloorKind }[] = [
  { name: 'v8-sampler', kind: 'v8' },
  { name: 'wake-only', kind: 'wake' },
];

interface Variant {
  name: string;
  mainJs: string | undefined;
  env: Record<string, string>;
}

interface Options {
  rate: number;
  instances: number;
  windowSeconds: number;
  cycles: number;
  warmupSeconds: number;
  connections: number;
  hz: number;
  variants: Variant[];
  aa: boolean;
  floor: boolean;
  together: boolean;
  idleSeconds: number;
  out: string;
}

export function parseVariant(spec: string): Variant {
  const [head = '', ...pairs] = spec.split(',');
  const eq = head.indexOf('=');
  const name = eq < 0 ? head : head.slice(0, eq);
  if (!/^[\w.-]+$/.test(name)) throw new UsageError(`--variant needs a name of letters, digits, '.', '-' or '_', got '${spec}'`);
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--variant expects KEY=VALUE after the name, got '${pair}'`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return { name, mainJs: eq < 0 ? undefined : resolve(head.slice(eq + 1)), env };
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      rate: { type: 'string' },
      instances: { type: 'string' },
      window: { type: 'string' },
      cycles: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      hz: { type: 'string' },
      variant: { type: 'string', multiple: true },
      aa: { type: 'boolean', default: false },
      floor: { type: 'boolean', default: false },
      'one-at-a-time': { type: 'boolean', default: false },
      idle: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError('');
  const variants = (values.variant ?? []).map(parseVariant);
  const reserved = ['off', 'profiling', 'off-2', ...FLOOR_ARMS.map((a) => a.name)];
  const names = [...reserved, ...variants.map((v) => v.name)];
  if (new Set(names).size !== names.length) throw new UsageError(`--variant names must differ from each other and from ${reserved.join(', ')}`);
  return {
    rate: Math.round(numberOption(values.rate, 400, 'rate')),
    instances: Math.round(numberOption(values.instances, 3, 'instances')),
    windowSeconds: numberOption(values.window, 10, 'window'),
    cycles: Math.round(numberOption(values.cycles, 8, 'cycles')),
    warmupSeconds: numberOption(values.warmup, 20, 'warmup', true),
    connections: Math.round(numberOption(values.connections, 16, 'connections')),
    hz: Math.round(numberOption(values.hz, BENCH_PROFILING_HZ, 'hz')),
    variants,
    aa: values.aa,
    floor: values.floor,
    together: !values['one-at-a-time'],
    idleSeconds: numberOption(values.idle, 5, 'idle', true),
    out: resolve(values.out ?? join(PROJECT_ROOT, 'bench', 'results-profiling.json')),
  };
}

const progress = (line: string): void => {
  process.stderr.write(`[bench:profiling] ${line}\n`);
};

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
const x3 = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(3)}×` : '—');

/** The printed result: one row per arm, then the machine's load over the run. */
export function renderAb(run: AbRun, summaries: readonly ArmSummary[], baseline: string, instances = 1): string {
  const rows = summaries.map((s) => [
    s.arm,
    String(s.cpuUs.n),
    f1(s.cpuUs.median),
    `${f1(s.cpuUs.min)}–${f1(s.cpuUs.max)}`,
    s.arm === baseline ? '1 (baseline)' : x3(s.ratio.median),
    s.arm === baseline ? '' : `${x3(s.ratio.q1)}–${x3(s.ratio.q3)}`,
    s.arm === baseline ? '' : `${x3(s.ratio.min)}–${x3(s.ratio.max)}`,
    f1(s.p99Ms),
    String(s.errors + s.non2xx),
  ]);
  const table = textTable(
    [
      { header: 'arm', align: 'left' },
      { header: 'windows', align: 'right' },
      { header: 'CPU µs/req', align: 'right' },
      { header: 'min–max', align: 'right' },
      { header: `median ratio vs ${baseline}`, align: 'right' },
      { header: 'IQR', align: 'right' },
      { header: 'min–max ratio', align: 'right' },
      { header: 'p99 ms', align: 'right' },
      { header: 'errors', align: 'right' },
    ],
    rows,
  );
  const others = median(run.windows.map((w) => w.othersOnCpu ?? Number.NaN));
  const perCycle = summaries
    .filter((s) => s.arm !== baseline)
    .map((s) => `  ${s.arm}: ${s.ratios.map((r) => r.toFixed(3)).join(' ')}`);
  const base = summaries.find((s) => s.arm === baseline);
  const split =
    base === undefined || run.idle.length === 0
      ? []
      : [
          `idle (no requests, ${run.idle[0]?.seconds.toFixed(0) ?? '?'} s after each cycle): ` + summaries.map((s) => `${s.arm} ${f1(s.idleUsPerSecond.median)} µs/s`).join(', '),
          ...summaries
            .filter((s) => s.arm !== baseline)
            .map((s) => {
              const c = splitCost(s, base, run.rate);
              const from = breakEvenRate(c.fixedUsPerSecond, c.perRequestUs, base.cpuUs.median, 0.03);
              return (
                `  ${s.arm} − ${baseline}: ${f1(c.fixedUsPerSecond)} µs of CPU per second whatever the load (${f1(c.fixedUsPerRequest)} µs per request at ${run.rate} rps) ` +
                `+ ${f1(c.perRequestUs)} µs per request (${f1((c.perRequestUs / base.cpuUs.median) * 100)} % of ${baseline}'s ${f1(base.cpuUs.median)} µs); ` +
                `≤ 3 % per request ${breakEvenText(from, base.cpuUs.median)}`
              );
            }),
        ];
  return [
    `${run.cycles} cycles × ${run.windowSeconds} s windows at ${run.rate} rps per server (open loop, Poisson arrivals, ${run.together ? 'all arms loaded at once' : 'one arm after the other'})` +
      `${instances > 1 ? `, ${instances} servers per arm pooled` : ''}, server CPU per request from /proc/<pid>/task/*/schedstat`,
    table,
    'per-cycle ratios:',
    ...perCycle,
    ...split,
    `machine: load average ${run.loadAverageStart.toFixed(2)} at start, ${run.loadAverageEnd.toFixed(2)} at end; ` +
      `other processes used ${Number.isFinite(others) ? `${Math.round(others * 100)}%` : '—'} of the servers' core (median over windows)`,
  ].join('\n');
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  installSignalCleanup();
  const machine = machineInfo();
  const pin = pinningStatus([SERVER_CPU, LOADGEN_CPU]);
  const pinned = pin.available && pinProcess(process.pid, LOADGEN_CPU);
  progress(pinned ? `servers pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOADGEN_CPU}` : `NOT pinned: ${pin.reason ?? 'taskset -p failed'}`);

  const tmpRoot = mkdtempSync(join(tmpdir(), 'recoscope-bench-profiling-'));
  removeDirOnCleanup(tmpRoot);
  const apiKey = randomBytes(18).toString('base64url');
  const ctx: LaunchContext = { tmpRoot, apiKey, serviceEnv: {}, startTimeoutMs: 5 * 60_000, ...(pinned ? { cpu: SERVER_CPU } : {}) };
  const profiled = { PROFILING_HZ: String(options.hz) };
  const specs: { name: string; spec: ServerSpec }[] = [
    { name: 'off', spec: { id: 'svc-off', kind: 'service', observability: 'off' } },
    { name: 'profiling', spec: { id: 'svc-profile', kind: 'service', observability: 'profile', env: profiled } },
  ];
  if (options.aa) specs.push({ name: 'off-2', spec: { id: 'svc-off-2', kind: 'service', observability: 'off' } });
  if (options.floor) {
    for (const arm of FLOOR_ARMS) {
      specs.push({
        name: arm.name,
        spec: { id: `svc-${arm.name}`, kind: 'service', observability: 'off', preload: SAMPLER_FLOOR_JS, env: { SAMPLER_FLOOR: arm.kind, SAMPLER_FLOOR_HZ: String(options.hz) } },
      });
    }
  }
  for (const v of options.variants) {
    specs.push({
      name: v.name,
      spec: { id: `svc-${v.name}`, kind: 'service', observability: 'profile', env: { ...profiled, ...v.env }, ...(v.mainJs === undefined ? {} : { mainJs: v.mainJs }) },
    });
  }
  // Instance i > 1 of arm `name` is `name#i` ('#' is not allowed in variant names).
  const instances = specs.flatMap(({ name, spec }) =>
    Array.from({ length: options.instances }, (_, i) => (i === 0 ? { name, spec } : { name: `${name}#${i + 1}`, spec: { ...spec, id: `${spec.id}-${i + 1}` } })),
  );
  progress(`starting ${instances.length} servers: ${instances.map((s) => s.name).join(', ')}`);
  const arms: AbArm[] = await Promise.all(
    instances.map(async ({ name, spec }) => {
      const launched = await launchServer(spec, ctx);
      onCleanup(() => launched.server.stop());
      return { name, server: launched.server };
    }),
  );
  const defaults = loadConfig({});
  const run = await runAbWindows({
    arms,
    paths: scenarioPaths({ scenario: 'knn', knownUsers: defaults.dataset.synthetic.users }),
    headers: { authorization: `Bearer ${apiKey}` },
    rate: options.rate,
    windowSeconds: options.windowSeconds,
    cycles: options.cycles,
    warmupSeconds: options.warmupSeconds,
    connections: options.connections,
    serverCpu: pinned ? SERVER_CPU : undefined,
    together: options.together,
    idleSeconds: options.idleSeconds,
    progress,
  });
  const pooled = poolInstances(run, (arm) => arm.split('#')[0] as string);
  const summaries = summariseAb(pooled.windows, 'off', pooled.idle);
  writeFileSync(options.out, `${JSON.stringify({ kind: 'recoscope-bench-profiling', machine, options, run, summaries }, null, 2)}\n`);
  process.stdout.write(`${machineLines(machine).join('\n')}\n${renderAb(pooled, summaries, 'off', options.instances)}\n`);
  progress(`wrote ${options.out}`);
  await cleanup();
  const failed = summaries.some((s) => s.errors + s.non2xx > 0);
  return failed ? 1 : 0;
}

if (require.main === module) {
  runCli('bench:profiling', USAGE, main, { exit: true, onFailure: cleanup });
}
