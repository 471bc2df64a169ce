/**
 * A soak: the compiled service under a steady fixed-rate load of mixed routes for minutes,
 * its RSS and event-loop delay sampled from inside (soak-probe.ts), and a pass/fail verdict:
 * no connection errors, timeouts or 5xx, no 401/429 (the key worked throughout), and RSS
 * growth from the settled start to the end under a bound.
 *
 * RSS growth compares medians, not single samples: the median of the samples in the first
 * minute after warm-up (the settled start) with the median of the last minute's — so one GC
 * swing at either end decides nothing, and a real leak (growth that stays) still shows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiled, SERVICE_MAIN_JS } from '../src/paths';
import { freePort, startChildServer } from './child-server';
import { runLoadDetailed, type LoadSummary } from './load';
import type { SoakSample } from './soak-probe';
import type { Scenario } from './scenarios';

export interface SoakOptions {
  scenario: Scenario;
  minutes: number;
  /** Requests per second over all connections. */
  rate: number;
  connections: number;
  warmupSeconds: number;
  /** Fail when the settled-start → end RSS growth exceeds this. */
  maxRssGrowthMb: number;
  sampleSeconds: number;
  seed: number;
  knownUsers: number;
  /** Environment of the service (dataset size, observability); PORT/HOST/API_KEY are set here. */
  serviceEnv: Record<string, string>;
  signal?: AbortSignal;
  /** Called with each sample as it arrives (progress). */
  onSample?: (sample: SoakSample) => void;
}

export interface SoakSummary {
  minutes: number;
  rate: number;
  connections: number;
  scenario: string;
  startedAt: string;
  load: LoadSummary;
  /** Status class → responses. */
  statusClasses: Record<string, number>;
  rss: { settledStartMb: number; endMb: number; growthMb: number; maxMb: number; boundMb: number };
  lagMs: { p99OfSamples: number; max: number };
  samples: SoakSample[];
  failures: string[];
  passed: boolean;
  /** With PROFILING_ENABLED: the profile store's size (soak-cli measures it at every sample). */
  profileStore?: { dir: string; maxBytes: number; endBytes: number; boundBytes: number };
}

const MB = 1024 * 1024;
const round1 = (n: number): number => Math.round(n * 10) / 10;

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runSoak(options: SoakOptions): Promise<SoakSummary> {
  const port = await freePort();
  const apiKey = randomBytes(24).toString('base64url');
  const logDir = mkdtempSync(join(tmpdir(), 'recoscope-soak-'));
  const service = await startChildServer({
    args: ['--require', compiled('loadtest/soak-probe'), SERVICE_MAIN_JS],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_DIR: logDir,
      ARTIFACTS_DIR: join(logDir, 'no-artifacts'),
      ...options.serviceEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Metrics on, as by default, but on a free port: the fixed default could be taken.
      METRICS_PORT: String(await freePort()),
      API_KEY: apiKey,
      // The probe's lines are the only stdout; the access log still goes to the file.
      LOG_STDOUT: 'false',
      SOAK_PROBE_INTERVAL_MS: String(options.sampleSeconds * 1000),
    },
    readiness: { kind: 'poll', url: `http://127.0.0.1:${port}`, path: '/health' },
    timeoutMs: 300_000,
  });
  const samples: SoakSample[] = [];
  let seen = 0;
  let measuredFrom = Number.POSITIVE_INFINITY;
  const poll = setInterval(() => {
    for (; seen < service.stdoutRecords.length; seen++) {
      const sample = (service.stdoutRecords[seen] as { soak_probe?: SoakSample }).soak_probe;
      if (sample === undefined) continue;
      samples.push(sample);
      options.onSample?.(sample);
    }
  }, 500);
  let load: LoadSummary;
  try {
    const run = await runLoadDetailed({
      scenario: options.scenario,
      url: service.url,
      apiKey,
      connections: options.connections,
      durationSeconds: options.minutes * 60,
      warmupSeconds: options.warmupSeconds,
      seed: options.seed,
      coldShare: 0.05,
      knownUsers: options.knownUsers,
      zipfExponent: 1,
      overallRate: options.rate,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onPhase: (phase, at) => {
        if (phase === 'measure') measuredFrom = at;
      },
    });
    load = run.summary;
  } finally {
    clearInterval(poll);
    await service.stop('SIGTERM');
    rmSync(logDir, { recursive: true, force: true });
  }

  const measured = samples.filter((s) => s.at >= measuredFrom);
  // A minute at each end, or a quarter of a short run.
  const window = Math.min(60_000, (options.minutes * 60_000) / 4);
  const firstAt = measured[0]?.at ?? 0;
  const lastAt = measured.at(-1)?.at ?? 0;
  const startSet = measured.filter((s) => s.at < firstAt + window);
  const endSet = measured.filter((s) => s.at > lastAt - window);
  const settledStart = median(startSet.map((s) => s.rssBytes)) / MB;
  const end = median(endSet.map((s) => s.rssBytes)) / MB;
  const growth = end - settledStart;

  const statusClasses: Record<string, number> = {};
  for (const [code, count] of Object.entries(load.statusCodes)) {
    const cls = `${code[0]}xx`;
    statusClasses[cls] = (statusClasses[cls] ?? 0) + count;
  }
  const failures: string[] = [];
  if (load.errors > 0) failures.push(`${load.errors} connection errors`);
  if (load.timeouts > 0) failures.push(`${load.timeouts} timeouts`);
  if ((statusClasses['5xx'] ?? 0) > 0) failures.push(`${statusClasses['5xx']} 5xx answers`);
  for (const code of ['401', '429']) if ((load.statusCodes[code] ?? 0) > 0) failures.push(`${load.statusCodes[code]} × ${code}`);
  if (measured.length < 2) failures.push(`only ${measured.length} RSS samples in the measured phase`);
  else if (!(growth <= options.maxRssGrowthMb)) failures.push(`RSS grew ${round1(growth)} MB (bound ${options.maxRssGrowthMb} MB)`);
  const expected = options.rate * options.minutes * 60;
  if (load.totalRequests < expected * 0.8) failures.push(`only ${load.totalRequests} of ~${expected} requests were answered (service too slow for --rate?)`);

  return {
    minutes: options.minutes,
    rate: options.rate,
    connections: options.connections,
    scenario: options.scenario.name,
    startedAt: load.startedAt,
    load,
    statusClasses,
    rss: {
      settledStartMb: round1(settledStart),
      endMb: round1(end),
      growthMb: round1(growth),
      maxMb: round1(Math.max(...measured.map((s) => s.rssBytes)) / MB),
      boundMb: options.maxRssGrowthMb,
    },
    lagMs: {
      p99OfSamples: percentile(
        measured.map((s) => s.lagMs.p99),
        99,
      ),
      max: Math.max(0, ...measured.map((s) => s.lagMs.max)),
    },
    samples,
    failures,
    passed: failures.length === 0,
  };
}
