/**
 * `npm run profile -- <scenario> [--duration 20 --connections 10 --warmup 5 …]`
 *
 * Profiles the service under a scenario's load with 0x and writes profiles/runs/<scenario>/<run>/
 * (see run.ts). Prints the rps under profiling, the flamegraph's path and the top 10
 * self-time frames. Dataset and model settings pass through the environment, e.g.
 * `SYNTHETIC_INTERACTIONS=600000 KNN_NEIGHBOURS=200 npm run profile -- knn`.
 * Exit codes: 0 done, 1 the run failed (one line on stderr says why), 2 bad usage.
 */
import { resolve } from 'node:path';
import { displayPath, runCli, UsageError } from '../src/cli/usage';
import { LOAD_FLAGS, onInterrupt, flagOrEnv, selectScenario, toolCommandLine } from '../loadtest/options';
import { busyFrames, idleShare } from './folded';
import { pct, renderTopTable } from './report';
import { profileScenario } from './run';
import { ConfigError, loadConfig } from '../src/config';

function configProblem(env: NodeJS.ProcessEnv): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

const USAGE = `usage: npm run profile -- <scenario> [options]    (scenarios: loadtest/scenarios.json)

  -d, --duration <s>     measured seconds (env LOAD_DURATION; default 20)
  -w, --warmup <s>       unmeasured seconds first (env LOAD_WARMUP; default 5)
  -c, --connections <n>  concurrent connections (env LOAD_CONNECTIONS; default 10)
  --seed, --cold-share, --users, --zipf, --timeout, --scenarios   as for npm run load
  --port <n>             service port (env PROFILE_PORT; default a free one)
  --profiles-dir <dir>   where run folders go (env PROFILES_DIR; default profiles/runs/)
  --top <n>              frames in the printed table (default 10)
  --keep-raw             keep V8's raw log under <run>/raw/
  --start-timeout <s>    wait this long for the service to listen (default 180)
  --model-ref <refs>     serve these registry versions under their model names (MODEL_REFS),
                         e.g. knn@staging or knn@20261201T231820123Z-3f9c2a1b: two runs of two
                         versions compare with npm run profile:compare -- knn

The service's own settings come from the environment (DATASET, SYNTHETIC_*, KNN_NEIGHBOURS,
K_RECS, LOG_*...), as for npm start.
`;

function parsePositiveInt(text: string | undefined, what: string, fallback: number | undefined): number | undefined {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`invalid ${what} '${text}': a positive integer`);
  return n;
}

async function main(): Promise<number> {
  const line = toolCommandLine(
    USAGE,
    {
      ...LOAD_FLAGS,
      port: { type: 'string' },
      'profiles-dir': { type: 'string' },
      top: { type: 'string' },
      'keep-raw': { type: 'boolean' },
      'start-timeout': { type: 'string' },
      'model-ref': { type: 'string' },
    },
    true,
  );
  if (line === undefined) return 0;
  const { values, positionals } = line;
  const env: NodeJS.ProcessEnv = { ...process.env };
  const modelRef = values['model-ref'];
  if (modelRef !== undefined) {
    // Checked here, like the service will at start-up, so a typo is exit 2 and not a failed run.
    const problem = configProblem({ ...env, MODEL_REFS: modelRef });
    if (problem !== undefined) throw new UsageError(`--model-ref: ${problem}`);
    env.MODEL_REFS = modelRef;
  }
  const { scenariosFile, scenario, settings: load } = selectScenario(values, positionals, env);
  const port = parsePositiveInt(flagOrEnv(values, 'port', 'PROFILE_PORT', env), '--port', undefined);
  if (port !== undefined && port > 65535) throw new UsageError(`invalid --port '${port}': at most 65535`);
  const top = parsePositiveInt(values.top, '--top', 10) as number;
  const startTimeout = parsePositiveInt(values['start-timeout'], '--start-timeout', 180) as number;
  const profilesDirFlag = flagOrEnv(values, 'profiles-dir', 'PROFILES_DIR', env);

  const interrupt = onInterrupt();

  const result = await profileScenario({
    scenario: scenario.name,
    scenariosFile,
    ...(profilesDirFlag === undefined ? {} : { profilesDir: resolve(profilesDirFlag) }),
    load,
    ...(port === undefined ? {} : { port }),
    env,
    keepRaw: values['keep-raw'] === true,
    startTimeoutMs: startTimeout * 1000,
    log: (line) => process.stdout.write(`${line}\n`),
    progress: process.stdout.isTTY === true && process.stderr.isTTY === true,
    signal: interrupt,
  });

  const { summary, meta } = result;
  process.stdout.write(
    [
      '',
      `${scenario.name}: ${summary.rps} req/s under profiling (p50 ${summary.latencyMs.p50} ms, p90 ${summary.latencyMs.p90} ms, p99 ${summary.latencyMs.p99} ms; ` +
        `${summary.errors} errors, ${summary.timeouts} timeouts, ${summary.non2xx} non-2xx of ${summary.totalRequests})`,
      `flamegraph: ${displayPath(result.htmlPath)}`,
      `run folder: ${displayPath(result.runDir)}  (${meta.samples} samples; git ${meta.git.short}${meta.git.dirty ? ', dirty' : ''})`,
      '',
      `top ${top} self-time frames (share of all samples; idle, the event loop waiting, was ${pct(idleShare(result.top))}):`,
      renderTopTable(busyFrames(result.top).slice(0, top)),
      '',
    ].join('\n'),
  );
  return 0;
}

// process.exit: autocannon and 0x may leave handles behind. RECOSCOPE_DEBUG=1 prints the
// stack of an unexpected failure.
runCli('profile', USAGE, main, { exit: true });
