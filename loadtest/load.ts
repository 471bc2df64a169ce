/**
 * One load run of a scenario with autocannon: an optional warm-up (not measured), then the
 * measured phase, each a fixed number of keep-alive connections for a fixed time (closed
 * loop: every connection sends its next request when the previous answer arrives).
 *
 * Every request is built by autocannon's `setupRequest`: the path is drawn from the
 * scenario's weighted requests and `{user_id}` replaced by a Zipf-distributed known user or,
 * with probability `coldShare`, an unknown one — one seeded PRNG for the whole run, so the
 * sequence of requests is the same on every run with the same seed.
 *
 * Exported for reuse: `runLoad(options)` resolves with the JSON summary; `runLoadDetailed`
 * also hands back autocannon's own result (for `autocannon.printResult`).
 */
import { request } from 'node:http';
import autocannon from 'autocannon';
import { createRng } from '../src/data/prng';
import { USER_ID_PLACEHOLDER, type Scenario } from './scenarios';
import { createUserSampler, createWeightedPicker } from './users';

/** What shapes a run: shared by its options, the CLI's settings and its summary. */
export interface LoadShape {
  connections: number;
  durationSeconds: number;
  /** Load sent before the measured phase and left out of the summary (JIT, caches). */
  warmupSeconds: number;
  seed: number;
  /** Share of requests for unknown (cold-start) users, in [0, 1]. */
  coldShare: number;
  /** Known users are 0..knownUsers-1. */
  knownUsers: number;
  zipfExponent: number;
}

export interface LoadOptions extends LoadShape {
  scenario: Scenario;
  /** Base URL of the service, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Sent as `Authorization: Bearer <key>` on every request. */
  apiKey?: string;
  /** Per-request timeout in seconds (autocannon's default is 10). */
  timeoutSeconds?: number;
  /** Requests per second over all connections (autocannon's overallRate); unset = as fast as answered. */
  overallRate?: number;
  /** Draw autocannon's progress bar on stderr. */
  progress?: boolean;
  /** Called as each phase starts, with Date.now(); the profiler uses `measure` to cut its samples. */
  onPhase?: (phase: 'warmup' | 'measure', atMs: number) => void;
  /** Stops the run early; runLoad then rejects with a LoadError. */
  signal?: AbortSignal;
}

export interface LoadSummary extends LoadShape {
  scenario: string;
  url: string;
  /** When the measured phase started (ISO 8601). */
  startedAt: string;
  /** The measured phase's length as autocannon timed it. */
  elapsedSeconds: number;
  /** Responses received in the measured phase, any status. */
  totalRequests: number;
  /** Responses per second over the measured phase. */
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  /** Connection errors (timeouts included, as autocannon counts them). */
  errors: number;
  timeouts: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** Status code → responses. */
  statusCodes: Record<string, number>;
  /** Request path template → requests built in the measured phase (the scenario's mix). */
  requestMix: Record<string, number>;
  /** Requests built for unknown users in the measured phase. */
  coldRequests: number;
}

export interface LoadRun {
  summary: LoadSummary;
  /** autocannon's result of the measured phase. */
  result: autocannon.Result;
}

export class LoadError extends Error {
  override name = 'LoadError';
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  return (await runLoadDetailed(options)).summary;
}

export async function runLoadDetailed(options: LoadOptions): Promise<LoadRun> {
  validate(options);
  const base = options.url.replace(/\/+$/, '');
  await preflight(base, options.timeoutSeconds ?? 10);

  const rng = createRng(options.seed);
  const users = createUserSampler(
    { knownUsers: options.knownUsers, coldShare: options.coldShare, zipfExponent: options.zipfExponent, seed: options.seed },
    rng,
  );
  const paths = options.scenario.requests.map((r) => r.path);
  const pick = createWeightedPicker(
    options.scenario.requests.map((r) => r.weight),
    rng,
  );
  let mix = new Map<string, number>();
  let cold = 0;
  const setupRequest = (req: autocannon.Request): autocannon.Request => {
    const template = paths[pick()] as string;
    mix.set(template, (mix.get(template) ?? 0) + 1);
    let path = template;
    if (template.includes(USER_ID_PLACEHOLDER)) {
      const user = users.next();
      if (user.cold) cold++;
      path = template.split(USER_ID_PLACEHOLDER).join(String(user.id));
    }
    return { ...req, method: 'GET', path };
  };

  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  const phase = (durationSeconds: number, title: string): autocannon.Options => ({
    url: base,
    title,
    connections: options.connections,
    duration: durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    headers,
    requests: [{ method: 'GET', setupRequest }],
  });

  if (options.warmupSeconds > 0) {
    options.onPhase?.('warmup', Date.now());
    const warm = await cannon(phase(options.warmupSeconds, `${options.scenario.name} warm-up`), options);
    failIfNothingSucceeded(warm.result, warm.firstError, base, 'warm-up');
    mix = new Map();
    cold = 0;
  }
  const startedAt = Date.now();
  options.onPhase?.('measure', startedAt);
  const measured = await cannon(phase(options.durationSeconds, options.scenario.name), options);
  failIfNothingSucceeded(measured.result, measured.firstError, base, 'run');
  const result = measured.result;

  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stats.count ?? 0;
  }
  const seconds = result.duration > 0 ? result.duration : options.durationSeconds;
  const summary: LoadSummary = {
    scenario: options.scenario.name,
    url: base,
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    seed: options.seed,
    coldShare: options.coldShare,
    knownUsers: options.knownUsers,
    zipfExponent: options.zipfExponent,
    startedAt: new Date(startedAt).toISOString(),
    elapsedSeconds: round(seconds, 3),
    totalRequests: result.requests.total,
    rps: round(result.requests.total / seconds, 1),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      mean: round(result.latency.average, 3),
      max: result.latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    requestMix: Object.fromEntries(mix),
    coldRequests: cold,
  };
  return { summary, result };
}

function validate(o: LoadOptions): void {
  const problems: string[] = [];
  if (!/^https?:\/\/[^/]+/.test(o.url)) problems.push(`url must be http(s)://host[:port], got '${o.url}'`);
  if (!Number.isInteger(o.connections) || o.connections < 1) problems.push(`connections must be a positive integer, got ${o.connections}`);
  if (!(o.durationSeconds > 0)) problems.push(`duration must be > 0 seconds, got ${o.durationSeconds}`);
  if (!(o.warmupSeconds >= 0)) problems.push(`warm-up must be >= 0 seconds, got ${o.warmupSeconds}`);
  if (!(o.coldShare >= 0 && o.coldShare <= 1)) problems.push(`cold share must be in [0, 1], got ${o.coldShare}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) problems.push(`seed must be a non-negative integer, got ${o.seed}`);
  if (problems.length > 0) throw new LoadError(`invalid load options: ${problems.join('; ')}`);
}

interface CannonRun {
  result: autocannon.Result;
  firstError: string | undefined;
}

function cannon(opts: autocannon.Options, options: LoadOptions): Promise<CannonRun> {
  if (options.signal?.aborted === true) return Promise.reject(new LoadError('load run interrupted'));
  return new Promise<CannonRun>((resolveRun, rejectRun) => {
    let firstError: string | undefined;
    const onAbort = (): void => instance.stop();
    const instance = autocannon(opts, (error: unknown, result: autocannon.Result) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted === true) rejectRun(new LoadError('load run interrupted'));
      else if (error !== null && error !== undefined) rejectRun(new LoadError(`autocannon failed: ${describeError(error)}`));
      else resolveRun({ result, firstError });
    });
    instance.on('reqError', (error: unknown) => {
      firstError ??= describeError(error);
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.progress === true) {
      autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
    }
  });
}

/** A run where not a single request succeeded is a failed run, with the reason on one line. */
function failIfNothingSucceeded(result: autocannon.Result, firstError: string | undefined, url: string, phase: string): void {
  if (result['2xx'] > 0) return;
  const total = result.requests.total;
  if (total === 0) {
    throw new LoadError(
      `no response from ${url} during the ${phase}: ${firstError ?? 'no request completed'} (${result.errors} connection errors, ${result.timeouts} timeouts)`,
    );
  }
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, s]) => `${s.count ?? 0}× ${code}`)
    .join(', ');
  const hint = result.statusCodeStats?.['401'] !== undefined ? ' (check the API key)' : '';
  throw new LoadError(`every request failed during the ${phase} against ${url}: ${codes}${hint}`);
}

/** One GET /health before the load, so an unreachable target fails in a second, not after the run. */
function preflight(base: string, timeoutSeconds: number): Promise<void> {
  return new Promise((resolveProbe, rejectProbe) => {
    const req = request(`${base}/health`, { method: 'GET', agent: false, timeout: timeoutSeconds * 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolveProbe());
      res.on('error', () => resolveProbe());
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutSeconds} s`)));
    req.on('error', (error) => rejectProbe(new LoadError(`cannot reach ${base}: ${describeError(error)}`)));
    req.end();
  });
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
    if (code !== undefined && !error.message.includes(code)) return `${error.message} (${code})`;
    return error.message.length > 0 ? error.message : (code ?? error.name);
  }
  return String(error);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
