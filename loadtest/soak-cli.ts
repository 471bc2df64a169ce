/**
 * `npm run soak -- --minutes N --rate R`: the compiled service under a steady mixed load for
 * N minutes (loadtest/soak.ts), a line per minute while it runs, then a pass/fail summary;
 * the JSON summary (every sample included) goes to loadtest/results/soak-<time>.json.
 * Exit codes: 0 passed, 1 failed (or could not run), 2 bad usage.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { displayPath, runCli, UsageError } from '../src/cli/usage';
import { loadConfig } from '../src/config';
import { onInterrupt, summaryFile, toolCommandLine, writeSummary } from './options';
import { runSoak, type SoakSummary } from './soak';
import type { SoakSample } from './soak-probe';
import { DEFAULT_SCENARIOS_FILE, getScenario, loadScenarioFile } from './scenarios';

const USAGE = `usage: npm run soak -- [--minutes N] [--rate R] [options]

  --minutes <n>            measured minutes (default 2)
  --rate <r>               requests per second over all connections (default 200)
  -c, --connections <n>    connections (default 10)
  --warmup <s>             unmeasured seconds first (default 20)
  --max-rss-growth-mb <n>  fail when RSS grows more than this from the settled start (default 50)
  --sample-seconds <s>     RSS / event-loop sampling interval (default 5)
  --scenario <name>        scenario of loadtest/scenarios.json (default soak: mixed routes and error paths)
  --seed <n>               PRNG seed of the request mix (default 42)
  -o, --out <file>         JSON summary (default loadtest/results/soak-<time>.json)

The service is the compiled one (npm run build), started here with the environment's
DATASET / SYNTHETIC_* / K_RECS / LOG_* / PROFILING_* settings, a random key and stdout logging off.
With PROFILING_ENABLED=true the profile store (PROFILING_DIR, default a fresh temporary
folder) is measured at every sample, and a store above PROFILING_MAX_MB fails the soak.
`;

/** The service settings a soak passes through from the environment. */
const PASSED_THROUGH = /^(DATASET|DATASET_SKIP_MALFORMED|SYNTHETIC_[A-Z_]+|K_RECS|KNN_[A-Z0-9_]+|POPULAR_WINDOW_DAYS|LOG_LEVEL|LOG_FILE_ENABLED|LOG_MAX_SIZE_MB|LOG_MAX_FILES|OTEL_[A-Z_]+|PROFILING_[A-Z_]+)$/;

/** Bytes of the profile files in the store (what retention bounds). */
function storeBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) if (name.endsWith('.pb.gz')) total += statSync(join(dir, name)).size;
  } catch {
    // Not created yet (before the first cut): empty.
  }
  return total;
}

function parseNumber(text: string | undefined, fallback: number, flag: string, check: (n: number) => boolean, rule: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !check(n)) throw new UsageError(`invalid ${flag} '${text}': ${rule}`);
  return n;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<number> {
  const line = toolCommandLine(
    USAGE,
    {
      minutes: { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string', short: 'c' },
      warmup: { type: 'string' },
      'max-rss-growth-mb': { type: 'string' },
      'sample-seconds': { type: 'string' },
      scenario: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
    false,
  );
  if (line === undefined) return 0;
  const { values } = line;
  const minutes = parseNumber(values.minutes, 2, '--minutes', (n) => n > 0 && n <= 60, 'minutes in (0, 60]');
  const rate = parseNumber(values.rate, 200, '--rate', (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, 'an integer in [1, 100000]');
  const connections = parseNumber(values.connections, 10, '--connections', (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'an integer in [1, 1000]');
  const warmupSeconds = parseNumber(values.warmup, 20, '--warmup', (n) => n >= 0 && n <= 600, 'seconds in [0, 600]');
  const maxRssGrowthMb = parseNumber(values['max-rss-growth-mb'], 50, '--max-rss-growth-mb', (n) => n > 0, 'a positive number');
  const sampleSeconds = parseNumber(values['sample-seconds'], 5, '--sample-seconds', (n) => n >= 1 && n <= 60, 'seconds in [1, 60]');
  const seed = parseNumber(values.seed, 42, '--seed', (n) => Number.isInteger(n) && n < 2 ** 31, 'an integer in [0, 2^31)');
  if (rate < connections) throw new UsageError(`--rate (${rate}) must be at least --connections (${connections})`);
  const file = loadScenarioFile(DEFAULT_SCENARIOS_FILE);
  const scenario = getScenario(file, values.scenario ?? 'soak');
  const serviceEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (PASSED_THROUGH.test(name) && value !== undefined && value !== '') serviceEnv[name] = value;
  // The service's own reading of the profiling settings (same validation, same defaults).
  const profiling = loadConfig(serviceEnv).profiling;
  if (profiling.enabled && serviceEnv.PROFILING_DIR === undefined) serviceEnv.PROFILING_DIR = mkdtempSync(join(tmpdir(), 'recoscope-soak-profiles-'));
  const store = profiling.enabled ? resolve(serviceEnv.PROFILING_DIR ?? profiling.dir) : undefined;
  let storeMax = 0;
  let storeLast = 0;
  const knownUsers = Number(serviceEnv.SYNTHETIC_USERS ?? file.defaults.knownUsers);
  const out = summaryFile(values.out, 'soak');

  process.stdout.write(
    `soak: ${scenario.name} at ${rate} req/s over ${connections} connections, ${warmupSeconds} s warm-up + ${minutes} min, ` +
      `RSS growth bound ${maxRssGrowthMb} MB, a sample every ${sampleSeconds} s\n`,
  );
  let lastPrinted = 0;
  const onSample = (sample: SoakSample): void => {
    if (store !== undefined) {
      storeLast = storeBytes(store);
      storeMax = Math.max(storeMax, storeLast);
    }
    if (sample.at - lastPrinted < 60_000) return;
    lastPrinted = sample.at;
    process.stdout.write(
      `  ${new Date(sample.at).toISOString().slice(11, 19)}  RSS ${mb(sample.rssBytes)}  heap ${mb(sample.heapUsedBytes)}  event-loop delay p99 ${sample.lagMs.p99} ms, max ${sample.lagMs.max} ms` +
        `${store === undefined ? '' : `  profile store ${mb(storeLast)}`}\n`,
    );
  };
  const summary: SoakSummary = await runSoak({
    scenario,
    minutes,
    rate,
    connections,
    warmupSeconds,
    maxRssGrowthMb,
    sampleSeconds,
    seed,
    knownUsers,
    serviceEnv,
    signal: onInterrupt(),
    onSample,
  });
  if (store !== undefined) {
    const bound = profiling.maxBytes;
    summary.profileStore = { dir: store, maxBytes: storeMax, endBytes: storeBytes(store), boundBytes: bound };
    if (storeMax > bound) {
      summary.passed = false;
      summary.failures.push(`profile store reached ${mb(storeMax)}, above its bound PROFILING_MAX_MB (${mb(bound)})`);
    }
  }
  writeSummary(out, summary);
  const l = summary.load;
  const classes = Object.entries(summary.statusClasses)
    .map(([cls, n]) => `${n} ${cls}`)
    .join(', ');
  process.stdout.write(
    `\nsoak: ${l.totalRequests} requests in ${l.elapsedSeconds} s (${l.rps} req/s): ${classes}; ${l.errors} errors, ${l.timeouts} timeouts\n` +
      `  latency p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms, max ${l.latencyMs.max} ms\n` +
      `  RSS ${summary.rss.settledStartMb} MB (settled start) → ${summary.rss.endMb} MB (end): growth ${summary.rss.growthMb} MB (bound ${summary.rss.boundMb} MB), max ${summary.rss.maxMb} MB\n` +
      `  event-loop delay: p99 of ${sampleSeconds}-s samples ${summary.lagMs.p99OfSamples} ms, max ${summary.lagMs.max} ms\n` +
      (summary.profileStore === undefined
        ? ''
        : `  profile store: max ${mb(summary.profileStore.maxBytes)}, end ${mb(summary.profileStore.endBytes)} (bound ${mb(summary.profileStore.boundBytes)}) in ${summary.profileStore.dir}\n`) +
      `  summary: ${displayPath(out)}\n` +
      (summary.passed ? 'soak: PASS\n' : `soak: FAIL: ${summary.failures.join('; ')}\n`),
  );
  return summary.passed ? 0 : 1;
}

runCli('soak', USAGE, main);
