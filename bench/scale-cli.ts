/**
 * `npm run bench:scale`: how kNN latency, training time and memory grow with the dataset.
 *
 * For 1×, 4× and 16× the default synthetic dataset (users, items and interactions all
 * multiplied, so the average history length stays the same): training time and peak RSS
 * (probe), bytes and time per in-process recommend() call (probe), and /reco/knn under HTTP
 * load (one service per size, all running, rounds interleaved across sizes). Writes
 * bench/scale.json and bench/scale.md; exits 1 when a measurement failed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { loadConfig } from '../src/config';
import { type ChildServer } from '../loadtest/child-server';
import { PROJECT_ROOT } from '../src/paths';
import { pinProcess, pinningStatus } from '../loadtest/cpu';
import { cleanup, installSignalCleanup, onCleanup, removeDirOnCleanup } from './cleanup';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtSeconds, markdownTable, textTable, type Column } from './format';
import { machineInfo, machineLines } from './machine';
import { runProbe } from './probes/protocol';
import type { RecommendProbeResult } from './probes/recommend';
import type { TrainProbeResult } from './probes/train';
import { launchServer } from './servers';
import { median, pairedRatio } from './stats';
import { failureReason, type RawRow, type TargetSpec } from './summary';
import { measureTargets, type LiveTarget } from './throughput';
import { scenarioPaths } from './paths';

const SERVER_CPU = 0;
const LOADGEN_CPU = 1;

const USAGE = `usage: npm run bench:scale [-- options]
  --scales 1,4,16    multiples of the default synthetic dataset (default 1,4,16)
  --rounds N         HTTP rounds per size (default 3)
  --duration S       seconds per HTTP run (default 5)
  --warmup S         warm-up seconds per size (default 3)
  --connections N    HTTP connections (default 50)
  --no-http          probes only (training, memory, in-process recommend())
  --out DIR          where scale.json / scale.md go (default bench/)`;

interface ScaleRow {
  factor: number;
  users: number;
  items: number;
  interactions: number;
  train?: TrainProbeResult;
  recommend?: RecommendProbeResult;
  http?: { rps: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number; vsBase: number; rounds: RawRow['rounds'] };
  failures: string[];
}

const progress = (line: string): void => {
  process.stderr.write(`[bench:scale] ${line}\n`);
};

const COLUMNS: Column[] = [
  { header: 'size', align: 'left' },
  { header: 'users', align: 'right' },
  { header: 'items', align: 'right' },
  { header: 'interactions', align: 'right' },
  { header: 'generate', align: 'right' },
  { header: 'train all', align: 'right' },
  { header: 'train knn', align: 'right' },
  { header: 'peak RSS', align: 'right' },
  { header: 'knn B/call', align: 'right' },
  { header: 'knn call p50 µs', align: 'right' },
  { header: 'knn call p99 µs', align: 'right' },
  { header: 'HTTP rps', align: 'right' },
  { header: 'rps vs 1×', align: 'right' },
  { header: 'HTTP p50 ms', align: 'right' },
  { header: 'HTTP p99 ms', align: 'right' },
  { header: 'errors+non-2xx', align: 'right' },
  { header: 'status', align: 'left' },
];

function cells(r: ScaleRow): string[] {
  const knn = r.recommend?.models.find((m) => m.model === 'knn');
  return [
    `${r.factor}×`,
    fmtInt(r.users),
    fmtInt(r.items),
    fmtInt(r.interactions),
    fmtSeconds(r.train === undefined ? undefined : r.train.loadMs / 1000),
    fmtSeconds(r.train === undefined ? undefined : r.train.totalTrainMs / 1000),
    fmtSeconds(r.train?.trainMs.knn === undefined ? undefined : r.train.trainMs.knn / 1000),
    fmtBytes(r.train?.maxRssBytes),
    fmtBytes(knn?.bytesPerCall),
    knn === undefined ? '—' : knn.p50Us.toFixed(1),
    knn === undefined ? '—' : knn.p99Us.toFixed(1),
    fmtInt(r.http?.rps),
    fmtRatio(r.http?.vsBase),
    fmtMs(r.http?.p50Ms),
    fmtMs(r.http?.p99Ms),
    r.http === undefined ? '—' : fmtInt(r.http.errors + r.http.non2xx),
    r.failures.length === 0 ? 'ok' : `FAILED: ${r.failures.join('; ')}`,
  ];
}

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    args: process.argv.slice(2),
    options: {
      scales: { type: 'string', default: '1,4,16' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      'no-http': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const factors = values.scales.split(',').map(Number);
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  if (
    factors.some((f) => !(f > 0)) ||
    !(Number.isInteger(rounds) && rounds > 0) ||
    !(duration > 0) ||
    !(warmup >= 0) ||
    !(Number.isInteger(connections) && connections > 0)
  ) {
    throw new UsageError('bad option value');
  }
  installSignalCleanup();
  const startedAt = performance.now();
  const machine = machineInfo();
  const pin = pinningStatus([SERVER_CPU, LOADGEN_CPU]);
  const pinned = pin.available && pinProcess(process.pid, LOADGEN_CPU);
  const cpu = pinned ? { cpu: SERVER_CPU } : {};
  const pinning = pinned
    ? `service and probes pinned to CPU ${SERVER_CPU}, load generator to CPU ${LOADGEN_CPU}`
    : `NOT pinned (${pin.reason ?? 'taskset -p failed'})`;
  progress(pinning);

  const tmpRoot = mkdtempSync(join(tmpdir(), 'recoscope-bench-scale-'));
  removeDirOnCleanup(tmpRoot);
  const base = loadConfig({}).dataset.synthetic;
  const rows: ScaleRow[] = factors.map((factor) => ({
    factor,
    users: Math.round(base.users * factor),
    items: Math.round(base.items * factor),
    interactions: Math.round(base.interactions * factor),
    failures: [],
  }));
  const envOf = (r: ScaleRow): Record<string, string> => ({
    DATASET: 'synthetic',
    SYNTHETIC_USERS: String(r.users),
    SYNTHETIC_ITEMS: String(r.items),
    SYNTHETIC_INTERACTIONS: String(r.interactions),
    SYNTHETIC_SEED: String(base.seed),
    ARTIFACTS_DIR: join(tmpRoot, 'no-artifacts'),
  });

  // Probes first, one size at a time, each in its own process.
  for (const r of rows) {
    try {
      progress(`${r.factor}×: training probe`);
      r.train = (await runProbe<TrainProbeResult>('train', { env: envOf(r), timeoutMs: 30 * 60_000, ...cpu })).result;
      progress(`${r.factor}×: recommend() probe`);
      r.recommend = (
        await runProbe<RecommendProbeResult>('recommend', {
          env: envOf(r),
          nodeArgs: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'],
          timeoutMs: 30 * 60_000,
          ...cpu,
        })
      ).result;
    } catch (error) {
      r.failures.push((error as Error).message.slice(0, 300));
    }
  }

  if (!values['no-http']) {
    const apiKey = randomBytes(18).toString('base64url');
    const live: LiveTarget[] = [];
    await Promise.all(
      rows.map(async (r) => {
        const spec: TargetSpec = { id: `knn-x${r.factor}`, label: `/reco/knn at ${r.factor}×`, server: `svc-x${r.factor}`, route: 'knn', observability: 'off' };
        const target: LiveTarget = { spec, paths: scenarioPaths({ scenario: 'knn', knownUsers: r.users }) };
        try {
          progress(`${r.factor}×: starting the service`);
          const { server }: { server: ChildServer } = await launchServer(
            { id: spec.server, kind: 'service', observability: 'off' },
            { tmpRoot, apiKey, serviceEnv: envOf(r), startTimeoutMs: 30 * 60_000, ...cpu },
          );
          onCleanup(() => server.stop());
          target.server = server;
        } catch (error) {
          target.crashed = (error as Error).message.split('\n')[0] ?? 'did not start';
        }
        live.push(target);
      }),
    );
    live.sort((a, b) => a.spec.id.localeCompare(b.spec.id, 'en', { numeric: true }));
    const raw = await measureTargets(live, {
      rounds,
      durationSeconds: duration,
      warmupSeconds: warmup,
      connections,
      headers: { authorization: `Bearer ${apiKey}` },
      progress: (line) => progress(line),
    });
    const baseRow = raw.find((x) => x.spec.id === `knn-x${rows[0]?.factor}`);
    const byRound = (x: RawRow | undefined): (number | undefined)[] => {
      const out = new Array<number | undefined>(rounds).fill(undefined);
      for (const s of x?.rounds ?? []) out[s.round] = s.rps;
      return out;
    };
    for (const r of rows) {
      const x = raw.find((y) => y.spec.id === `knn-x${r.factor}`);
      if (x === undefined) continue;
      const all = [...(x.warmup === undefined ? [] : [x.warmup]), ...x.rounds];
      const failure = [x.crashed, failureReason(all)].filter((f) => f !== undefined).join('; ');
      if (failure !== '') r.failures.push(failure);
      r.http = {
        rps: median(x.rounds.map((s) => s.rps)),
        p50Ms: median(x.rounds.map((s) => s.p50Ms)),
        p99Ms: median(x.rounds.map((s) => s.p99Ms)),
        errors: all.reduce((n, s) => n + s.errors, 0),
        non2xx: all.reduce((n, s) => n + s.non2xx, 0),
        vsBase: pairedRatio(byRound(x), byRound(baseRow)),
        rounds: x.rounds,
      };
    }
  }

  const failed = rows.some((r) => r.failures.length > 0);
  const settings = `HTTP: ${values['no-http'] ? 'off' : `${rounds} rounds × ${duration} s, ${warmup} s warm-up, ${connections} connections, sizes interleaved, obs off`}; ${pinning}`;
  const text = [
    ...machineLines(machine),
    settings,
    '',
    textTable(COLUMNS, rows.map(cells)),
    '',
    failed ? 'RESULT: FAILED' : 'RESULT: ok',
  ].join('\n');
  const md = [
    '# recoscope scale benchmark',
    '',
    ...machineLines(machine).map((l) => `- ${l}`),
    `- ${settings}`,
    '- size = multiple of the default synthetic dataset (users, items and interactions all scaled; average history length constant)',
    '',
    markdownTable(COLUMNS, rows.map(cells)),
    '',
    failed ? '**RESULT: FAILED**' : 'RESULT: ok',
    '',
  ].join('\n');
  const outDir = resolve(values.out ?? join(PROJECT_ROOT, 'bench'));
  mkdirSync(outDir, { recursive: true });
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  writeFileSync(join(outDir, 'scale.json'), `${JSON.stringify({ kind: 'recoscope-bench-scale', version: 1, elapsedSeconds, machine, settings, rows, failed }, null, 2)}\n`);
  writeFileSync(join(outDir, 'scale.md'), md);
  process.stdout.write(`${text}\n`);
  progress(`done in ${elapsedSeconds.toFixed(0)} s; wrote ${join(outDir, 'scale.json')} and scale.md`);
  await cleanup();
  return failed ? 1 : 0;
}

// process.exit: the load generator may leave timers behind; a failure stops the servers first.
runCli('bench:scale', USAGE, main, { exit: true, onFailure: cleanup });
