/**
 * `npm run load -- <scenario> [--url … --key … --connections … --duration … --warmup …]`
 *
 * Runs one scenario of loadtest/scenarios.json against a running service, prints autocannon's
 * table and writes the JSON summary (default loadtest/results/<scenario>-<timestamp>.json).
 * Exit codes: 0 done, 1 the run failed (unreachable target, nothing succeeded), 2 bad usage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { displayPath, parseCommandLine, runCli, UsageError } from '../src/cli/usage';
import { PROJECT_ROOT } from '../src/paths';
import { runLoadDetailed } from './load';
import { LOAD_FLAGS, onInterrupt, fileTimestamp, flagOrEnv, selectScenario } from './options';
import { needsApiKey } from './scenarios';

const USAGE = `usage: npm run load -- <scenario> [options]

  --url <url>            target (env LOAD_URL; default http://127.0.0.1:8080)
  --key <key>            API key sent as Bearer (env API_KEY)
  -c, --connections <n>  concurrent connections (env LOAD_CONNECTIONS)
  -d, --duration <s>     measured seconds (env LOAD_DURATION)
  -w, --warmup <s>       unmeasured seconds first (env LOAD_WARMUP)
  --seed <n>             PRNG seed for routes and users (env LOAD_SEED)
  --cold-share <f>       share of unknown users, 0..1 (env LOAD_COLD_SHARE)
  --users <n>            known users are 0..n-1 (env LOAD_USERS, else SYNTHETIC_USERS)
  --zipf <s>             Zipf exponent of the user draw (env LOAD_ZIPF_EXPONENT)
  --timeout <s>          per-request timeout (env LOAD_TIMEOUT; default 10)
  --scenarios <file>     scenario file (env LOAD_SCENARIOS_FILE; default loadtest/scenarios.json)
  -o, --out <file>       JSON summary (env LOAD_OUT; default loadtest/results/<scenario>-<time>.json)
`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      ...LOAD_FLAGS,
      url: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const env = process.env;
  const { scenario, settings } = selectScenario(values, positionals, env);
  const url = flagOrEnv(values, 'url', 'LOAD_URL', env) ?? 'http://127.0.0.1:8080';
  const apiKey = flagOrEnv(values, 'key', 'API_KEY', env);
  if (apiKey === undefined && needsApiKey(scenario)) {
    throw new UsageError(`scenario '${scenario.name}' needs the service's API key: pass --key or set API_KEY`, { showUsage: false });
  }
  const out = resolve(
    flagOrEnv(values, 'out', 'LOAD_OUT', env) ?? join(PROJECT_ROOT, 'loadtest', 'results', `${scenario.name}-${fileTimestamp()}.json`),
  );

  const interrupt = onInterrupt();

  process.stdout.write(
    `load: ${scenario.name} → ${url}: ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s, seed ${settings.seed}, ${Math.round(settings.coldShare * 100)}% cold users\n`,
  );
  const { summary, result } = await runLoadDetailed({
    scenario,
    url,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...settings,
    progress: process.stdout.isTTY === true && process.stderr.isTTY === true,
    signal: interrupt,
  });
  process.stdout.write(autocannon.printResult(result, { renderResultsTable: true, renderLatencyTable: false }));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `\n${scenario.name}: ${summary.rps} req/s, p50 ${summary.latencyMs.p50} ms, p90 ${summary.latencyMs.p90} ms, p99 ${summary.latencyMs.p99} ms, ` +
      `${summary.errors} errors, ${summary.timeouts} timeouts, ${summary.non2xx} non-2xx of ${summary.totalRequests}\n` +
      `summary: ${displayPath(out)}\n`,
  );
  return 0;
}

// process.exit: autocannon may leave timers behind.
runCli('load', USAGE, main, { exit: true });
