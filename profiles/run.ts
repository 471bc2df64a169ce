/**
 * One profile: the compiled service under 0x, a scenario's load with a warm-up, a clean stop,
 * and a run folder `profiles/runs/<scenario>/<timestamp>-<git short sha>/` with
 *   flamegraph.html    0x's flamegraph of the measured phase
 *   stacks.folded      normalised folded stacks (see folded.ts)
 *   load-summary.json  the load run's summary (rps, latency percentiles, errors)
 *   meta.json          code version, Node, scenario, load, dataset and model parameters, samples
 * and `profiles/runs/<scenario>/latest` pointing at it.
 */
import { MIN_API_KEY_LENGTH } from '../src/config';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../src/config';
import { LoadError, runLoad, type LoadSummary } from '../loadtest/load';
import type { LoadSettings } from '../loadtest/options';
import { fileTimestamp } from '../loadtest/options';
import { getScenario, loadScenarioFile, DEFAULT_SCENARIOS_FILE } from '../loadtest/scenarios';
import { freePort } from '../loadtest/child-server';
import { PROJECT_ROOT, SERVICE_MAIN_JS } from '../src/paths';
import { formatFolded, frameShares, totalSamples, treeToFolded, type FrameShare } from './folded';
import { gitInfo, type GitInfo } from './git';
import { ServiceStartError, ZEROX_VERSION, ZeroXError, prepareForVisualize, startUnderZeroX, visualize, type ZeroXSession } from './zerox';

export const DEFAULT_PROFILES_DIR = join(PROJECT_ROOT, 'profiles', 'runs');

export const RUN_FILES = {
  flamegraph: 'flamegraph.html',
  folded: 'stacks.folded',
  summary: 'load-summary.json',
  meta: 'meta.json',
} as const;

/** A failure with a one-line message for the user (exit 1). */
export class ProfileError extends Error {
  override name = 'ProfileError';
}

export interface ProfileOptions {
  scenario: string;
  scenariosFile?: string;
  /** Root of the run folders (default profiles/runs/). */
  profilesDir?: string;
  load: LoadSettings;
  /** Fixed port for the service; default a free one. */
  port?: number;
  /** The service's environment (dataset, model, logging settings pass through). */
  env?: NodeJS.ProcessEnv;
  /** Keep V8's raw log under raw/ (re-render with 0x --visualize-only raw/). */
  keepRaw?: boolean;
  startTimeoutMs?: number;
  /** Progress lines (the CLI prints them on stdout; stderr is kept for the one-line error). */
  log?: (line: string) => void;
  /** Draw autocannon's progress bar. */
  progress?: boolean;
  signal?: AbortSignal;
}

export interface ProfileMeta {
  scenario: string;
  run: string;
  startedAt: string;
  git: GitInfo;
  node: string;
  zeroX: string;
  platform: string;
  load: LoadSettings;
  dataset: Record<string, unknown>;
  models: Record<string, unknown>;
  service: { logStdout: boolean; logFile: boolean; tracing: boolean; url: string };
  samples: number;
  /** Samples in the first `cutMs` of the profile (start-up, training, warm-up) are left out. */
  cutMs: number;
  rps: number;
  timingsMs: { startup: number; warmup: number; measured: number; stop: number; render: number; total: number };
  files: typeof RUN_FILES;
}

export interface ProfileResult {
  runDir: string;
  htmlPath: string;
  summary: LoadSummary;
  meta: ProfileMeta;
  top: FrameShare[];
}

async function assertPortFree(port: number, host: string): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolveCheck, rejectCheck) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      rejectCheck(
        new ProfileError(
          error.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : `cannot use port ${port} on ${host}: ${error.message}`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolveCheck()));
  });
}

/** The first lines of the service's log, up to `listening`: dataset and model facts. */
async function startupRecords(logFile: string): Promise<Record<string, unknown>[]> {
  if (!existsSync(logFile)) return [];
  const records: Record<string, unknown>[] = [];
  const lines = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      if ((record.event as { action?: unknown } | undefined)?.action === 'listening') break;
    } catch {
      // not a JSON line
    }
    if (records.length > 200) break;
  }
  lines.close();
  return records;
}

function byAction(records: Record<string, unknown>[], action: string): Record<string, unknown>[] {
  return records.filter((r) => (r.event as { action?: unknown } | undefined)?.action === action);
}

function newRunDir(scenarioDir: string, name: string): { dir: string; name: string } {
  let candidate = name;
  for (let i = 2; existsSync(join(scenarioDir, candidate)); i++) candidate = `${name}-${i}`;
  const dir = join(scenarioDir, candidate);
  mkdirSync(dir, { recursive: true });
  return { dir, name: candidate };
}

/** Points profiles/runs/<scenario>/latest at the run (atomically: a new link renamed over the old). */
export function updateLatest(scenarioDir: string, runName: string): void {
  const tmp = join(scenarioDir, `.latest-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(runName, tmp);
  renameSync(tmp, join(scenarioDir, 'latest'));
}

function serviceEnvFor(base: NodeJS.ProcessEnv, port: number, apiKey: string, logDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  env.PORT = String(port);
  env.HOST = '127.0.0.1';
  env.API_KEY = apiKey;
  env.LOG_DIR = logDir;
  // stdout logging is off unless asked for: under 0x it goes through an extra pipe that
  // production does not have. The file log (production's) stays as configured (default on).
  if (env.LOG_STDOUT === undefined || env.LOG_STDOUT === '') env.LOG_STDOUT = 'false';
  // No metrics listener unless asked for (METRICS_PORT=<port>): its default port would collide
  // with a service already running on this machine.
  if (env.METRICS_PORT === undefined || env.METRICS_PORT === '') env.METRICS_PORT = '0';
  // Flags meant for this tool must not reach the profiled node (0x adds its own).
  delete env.NODE_OPTIONS;
  return env;
}

export async function profileScenario(options: ProfileOptions): Promise<ProfileResult> {
  const log = options.log ?? ((): void => undefined);
  const startedAt = new Date();
  const t0 = Date.now();
  const file = loadScenarioFile(options.scenariosFile ?? DEFAULT_SCENARIOS_FILE);
  const scenario = getScenario(file, options.scenario);
  if (!existsSync(SERVICE_MAIN_JS)) throw new ProfileError(`${SERVICE_MAIN_JS} is missing: run npm run build first`);

  const host = '127.0.0.1';
  if (options.port !== undefined) await assertPortFree(options.port, host);
  const port = options.port ?? (await freePort(host));
  const url = `http://${host}:${port}`;

  const baseEnv = options.env ?? process.env;
  const apiKey = baseEnv.API_KEY !== undefined && baseEnv.API_KEY.length >= MIN_API_KEY_LENGTH ? baseEnv.API_KEY : randomBytes(18).toString('base64url');
  const git = gitInfo(PROJECT_ROOT);
  const scenarioDir = join(options.profilesDir ?? DEFAULT_PROFILES_DIR, scenario.name);
  const run = newRunDir(scenarioDir, `${fileTimestamp(startedAt)}-${git.short}`);
  const workDir = join(run.dir, '0x-work');
  const collectDir = join(workDir, 'collect');
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const env = serviceEnvFor(baseEnv, port, apiKey, logDir);
  const logFile = join(logDir, env.LOG_FILE ?? 'recoscope.ndjson');

  let session: ZeroXSession | undefined;
  let ok = false;
  try {
    log(`profile: starting the service under 0x ${ZEROX_VERSION} on ${url}`);
    session = await startUnderZeroX({
      script: SERVICE_MAIN_JS,
      cwd: PROJECT_ROOT,
      env,
      url,
      collectDir,
      workDir,
      readyTimeoutMs: options.startTimeoutMs ?? 180_000,
      logFile,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    log(`profile: service ready in ${(session.startupMs / 1000).toFixed(1)} s; ${options.load.warmupSeconds} s warm-up, then ${options.load.durationSeconds} s measured with ${options.load.connections} connections`);

    let measureStartMs = Date.now();
    let warmupStartMs = measureStartMs;
    const summary = await runLoad({
      scenario,
      url,
      apiKey,
      ...options.load,
      progress: options.progress ?? false,
      onPhase: (phase, at) => {
        if (phase === 'warmup') warmupStartMs = at;
        else measureStartMs = at;
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const measureEndMs = Date.now();

    log('profile: stopping the service; 0x converts the V8 log');
    await session.stop();
    const stoppedMs = Date.now();

    const rawLog = prepareForVisualize(collectDir);
    const cutMs = measureStartMs - session.profilingSinceMs;
    const htmlPath = join(run.dir, RUN_FILES.flamegraph);
    log('profile: rendering the flamegraph (0x --visualize-only)');
    const tree = await visualize({
      collectDir,
      htmlPath,
      title: `recoscope ${scenario.name}${env.MODEL_REFS === undefined || env.MODEL_REFS === '' ? '' : ` (${env.MODEL_REFS})`} · ${summary.rps} req/s · ${git.short}${git.dirty ? '+dirty' : ''} · ${startedAt.toISOString()}`,
      delayMs: cutMs,
      cwd: PROJECT_ROOT,
    });
    const folded = treeToFolded(tree, PROJECT_ROOT);
    const samples = totalSamples(folded);
    if (samples === 0) throw new ProfileError('0x recorded no samples in the measured phase');
    writeFileSync(join(run.dir, RUN_FILES.folded), formatFolded(folded));
    writeFileSync(join(run.dir, RUN_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`);
    if (options.keepRaw === true) {
      mkdirSync(join(run.dir, 'raw'), { recursive: true });
      renameSync(rawLog, join(run.dir, 'raw', basename(rawLog)));
    }
    const renderedMs = Date.now();

    const records = await startupRecords(logFile);
    let config: ReturnType<typeof loadConfig> | undefined;
    try {
      config = loadConfig(env);
    } catch {
      config = undefined;
    }
    const datasetRecord = byAction(records, 'dataset-loaded')[0]?.recoscope as { dataset?: Record<string, unknown> } | undefined;
    const listening = byAction(records, 'listening')[0]?.recoscope as { tracing?: unknown } | undefined;
    const meta: ProfileMeta = {
      scenario: scenario.name,
      run: run.name,
      startedAt: startedAt.toISOString(),
      git,
      node: process.version,
      zeroX: ZEROX_VERSION,
      platform: `${process.platform}-${process.arch}`,
      load: options.load,
      dataset: {
        ...(config === undefined ? {} : { source: config.dataset.source, synthetic: config.dataset.synthetic }),
        ...(datasetRecord?.dataset === undefined ? {} : { loaded: datasetRecord.dataset }),
      },
      models: {
        ...(config === undefined ? {} : { kRecs: config.kRecs, ...config.models }),
        trained: byAction(records, 'model-trained').map((r) => (r.recoscope as Record<string, unknown> | undefined) ?? {}),
        // The registry version each model name served in this run (MODEL_REFS / --model-ref).
        serving: (byAction(records, 'models-ready')[0]?.recoscope as { serving?: unknown } | undefined)?.serving ?? {},
      },
      service: {
        logStdout: config?.log.stdout ?? false,
        logFile: config?.log.fileEnabled ?? true,
        tracing: listening?.tracing === true,
        url,
      },
      samples,
      cutMs,
      rps: summary.rps,
      timingsMs: {
        startup: session.startupMs,
        warmup: measureStartMs - warmupStartMs,
        measured: measureEndMs - measureStartMs,
        stop: stoppedMs - measureEndMs,
        render: renderedMs - stoppedMs,
        total: Date.now() - t0,
      },
      files: RUN_FILES,
    };
    writeFileSync(join(run.dir, RUN_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
    rmSync(workDir, { recursive: true, force: true });
    updateLatest(scenarioDir, run.name);
    ok = true;
    return { runDir: run.dir, htmlPath, summary, meta, top: frameShares(folded) };
  } catch (error) {
    if (error instanceof ServiceStartError || error instanceof LoadError || error instanceof ZeroXError) {
      throw new ProfileError(error.message);
    }
    throw error;
  } finally {
    if (!ok) {
      await session?.kill();
      rmSync(run.dir, { recursive: true, force: true });
    }
  }
}
