/**
 * Always-on profiling at PROFILING_HZ, each sample carrying the context of the request whose
 * synchronous work it was taken in: wall-clock with @datadog/pprof (PROFILING_CLOCK=wall, V8's
 * sampling profiler), or CPU time with our native sampler (PROFILING_CLOCK=cpu, cpu-sampler.ts).
 * Every period the profile is cut
 * (the profiler restarts at once, so no time goes unsampled), its samples labelled, written
 * as gzip pprof to the store, the store pruned, and one `profile-written` log line indexes it
 * (time range, labels, sample count, file) for Elasticsearch via the log pipeline.
 *
 * Labels are computed at the cut, not per request: a request only fills its small context
 * object (ids, route template, model name); the version is looked up when its samples are
 * serialised.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Profile } from 'pprof-format';
import type { ProfilingConfig } from '../config';
import { CpuSampler } from './cpu-sampler';
import { LABELS, LOW_CARDINALITY_LABELS, PROFILE_WRITTEN_ACTION, type ProfileMetadata } from './labels';
import { ProfileStore } from './store';

/**
 * What a request leaves for the profiler: read when its samples are labelled. Plain strings,
 * filled when the request's synchronous work has returned: every sample taken in the request
 * holds its context until the cut (up to PROFILING_PERIOD_S), so holding the request and
 * response objects instead would keep them, and what they reference, alive that long.
 */
export interface SampleContext {
  traceId: string | undefined;
  spanId: string | undefined;
  route: string | undefined;
  model: string | undefined;
}

export interface ProfilerLog {
  info(message: string, meta?: object): void;
  warn(message: string, meta?: object): void;
  error(message: string, meta?: object): void;
}

type LabelSet = Record<string, string>;

/** The slice of @datadog/pprof's API used here (its own types describe the context as `object`). */
interface TimeProfiler {
  start(options: { intervalMicros: number; durationMillis: number; withContexts: boolean; useCPED: boolean; workaroundV8Bug: boolean }): void;
  stop(restart: boolean, generateLabels?: (args: { context?: { context?: object } }) => LabelSet, lowCardinalityLabels?: string[]): Profile;
  setContext(context: object | undefined): void;
  isStarted(): boolean;
}

interface PprofModule {
  time: TimeProfiler;
  encode(profile: Profile): Promise<Buffer>;
}

/** One period's profile: pprof, and its gzip bytes for the store. */
interface TakenProfile {
  profile: Profile;
  data: Buffer;
}

/** What the profiler needs of a sampler, wall-clock or CPU-time. */
interface PeriodSampler {
  run<R>(ctx: SampleContext, fn: () => R): R;
  /** Ends the period (sampling goes on unless `last`); throws at once when it cannot. */
  cut(last: boolean, labels: (ctx: Partial<SampleContext>) => LabelSet, start: Date, end: Date): Promise<TakenProfile>;
}

/**
 * The context of samples taken outside a request (labelled with nothing): none at all.
 * Clearing the native field only drops its reference; setting any object there creates a
 * V8 global handle (and a shared pointer) each time, twice per request otherwise.
 */
const NO_REQUEST = undefined;

/** @datadog/pprof's wall-clock sampler. */
async function startWallSampler(config: ProfilingConfig): Promise<PeriodSampler> {
  // Loaded only when profiling is on: off, the native addon is never mapped into the process.
  const pprof = (await import('@datadog/pprof')) as unknown as PprofModule;
  const time = pprof.time;
  time.start({
    intervalMicros: Math.round(1_000_000 / config.hz),
    // Cut by us every period; the profiler's own duration only matters for profile().
    durationMillis: config.periodMs,
    // Contexts are set and cleared around the synchronous part of each request (run())
    // rather than carried by AsyncContextFrame: carrying one per request through every
    // async resource cost ~40 µs of CPU per request (measured on /reco/knn), setting a
    // native field twice costs nanoseconds, and a request's CPU work — routing, the model,
    // serialising the answer — is synchronous.
    withContexts: true,
    useCPED: false,
    // The library's default (true) waits for up to two sampling periods, twice, inside
    // every cut — a nanosleep on the event loop: 15–23 ms of stalled requests every period
    // at 100 Hz (measured, 6 000 rps on /reco/knn), against 0.7–13 ms without it. Its
    // detection of V8's stuck sampler, and the full restart when it sees one, run either way.
    workaroundV8Bug: false,
  });
  return {
    run(ctx, fn) {
      time.setContext(ctx);
      try {
        return fn();
      } finally {
        time.setContext(NO_REQUEST);
      }
    },
    cut(last, labels) {
      const profile = time.stop(
        !last,
        ({ context }) => {
          // Outside a request there is no context (or the sampler's initial `{}`): no labels.
          const ctx = context?.context as Partial<SampleContext> | undefined;
          return ctx === undefined ? {} : labels(ctx);
        },
        [...LOW_CARDINALITY_LABELS],
      );
      return pprof.encode(profile).then((data) => ({ profile, data }));
    },
  };
}

function startCpuSampler(config: ProfilingConfig): PeriodSampler {
  const sampler = CpuSampler.start<SampleContext>(config.hz);
  return {
    run: (ctx, fn) => sampler.run(ctx, fn),
    cut: (last, labels, start, end) => sampler.cut(last, labels, start.getTime(), end.getTime()),
  };
}

/** Ids sort by time: `<UTC yyyymmddThhmmssZ>-<6 hex>`. */
function newProfileId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function labelsOf(ctx: Partial<SampleContext>, versions: ReadonlyMap<string, string>): LabelSet {
  const labels: LabelSet = {};
  if (ctx.traceId !== undefined) labels[LABELS.traceId] = ctx.traceId;
  if (ctx.spanId !== undefined) labels[LABELS.spanId] = ctx.spanId;
  if (ctx.route !== undefined) labels[LABELS.route] = ctx.route;
  if (ctx.model !== undefined) {
    labels[LABELS.model] = ctx.model;
    const version = versions.get(ctx.model);
    if (version !== undefined) labels[LABELS.modelVersion] = version;
  }
  return labels;
}

/** Sample count and the distinct label values of a profile, for its metadata line. */
export function summarise(profile: Profile): Pick<ProfileMetadata, 'samples' | 'trace_ids' | 'routes' | 'models' | 'model_versions'> {
  const strings = profile.stringTable.strings;
  const sets: Record<string, Set<string>> = {
    [LABELS.traceId]: new Set(),
    [LABELS.route]: new Set(),
    [LABELS.model]: new Set(),
    [LABELS.modelVersion]: new Set(),
  };
  let samples = 0;
  for (const sample of profile.sample) {
    samples += Number(sample.value[0] ?? 0);
    for (const label of sample.label) {
      const set = sets[strings[Number(label.key)] ?? ''];
      const value = strings[Number(label.str)];
      if (set !== undefined && value !== undefined && value !== '') set.add(value);
    }
  }
  const sorted = (key: string): string[] => [...(sets[key] ?? [])].sort();
  return {
    samples,
    trace_ids: sorted(LABELS.traceId),
    routes: sorted(LABELS.route),
    models: sorted(LABELS.model),
    model_versions: sorted(LABELS.modelVersion),
  };
}

export class ContinuousProfiler {
  private currentId: string;
  private startedAt: Date;
  private timer: NodeJS.Timeout | undefined;
  /** The cut in progress (encode, write, prune): the next waits, shutdown awaits it. */
  private pending: Promise<void> = Promise.resolve();
  private versions: ReadonlyMap<string, string> = new Map();
  private stopped = false;

  private constructor(
    private readonly sampler: PeriodSampler,
    private readonly config: ProfilingConfig,
    private readonly log: ProfilerLog,
    private readonly profiles: ProfileStore,
  ) {
    this.startedAt = new Date();
    this.currentId = newProfileId(this.startedAt);
  }

  /** Loads the native profiler and starts sampling; throws when it cannot (the caller logs). */
  static async start(config: ProfilingConfig, log: ProfilerLog): Promise<ContinuousProfiler> {
    const profiles = await ProfileStore.open(resolve(config.dir));
    const sampler = config.clock === 'cpu' ? startCpuSampler(config) : await startWallSampler(config);
    const profiler = new ContinuousProfiler(sampler, config, log, profiles);
    profiler.timer = setInterval(() => void profiler.cut(), config.periodMs);
    profiler.timer.unref();
    return profiler;
  }

  /** Model name → version (artifact version, or none for a model trained at start-up). */
  setModelVersions(versions: ReadonlyMap<string, string>): void {
    this.versions = versions;
  }

  /** The id of the profile being recorded now (the server span's profile.id). */
  profileId(): string {
    return this.currentId;
  }

  get storeDir(): string {
    return this.profiles.dir;
  }

  /**
   * Runs `fn` (the rest of the request's middleware chain) with `ctx` attached to every
   * sample taken until it returns; samples outside any request carry the empty context.
   */
  run<R>(ctx: SampleContext, fn: () => R): R {
    if (this.stopped) return fn();
    return this.sampler.run(ctx, fn);
  }

  /** Cuts the current profile (restarting the sampler unless this is the last) and stores it. */
  private cut(last = false): Promise<void> {
    const id = this.currentId;
    const start = this.startedAt;
    const end = new Date();
    let taken: Promise<TakenProfile>;
    try {
      // Versions as they are when the samples are labelled.
      taken = this.sampler.cut(last, (ctx) => labelsOf(ctx, this.versions), start, end);
    } catch (error) {
      this.log.error('profiling: cutting the profile failed', { event: { action: 'profile-failed' }, err: error });
      return this.pending;
    }
    // Handled in store(); a rejection must not go unhandled meanwhile.
    taken.catch(() => undefined);
    this.currentId = newProfileId(end);
    this.startedAt = end;
    this.pending = this.pending.then(() => this.store(id, start, end, taken));
    return this.pending;
  }

  private async store(id: string, start: Date, end: Date, taken: Promise<TakenProfile>): Promise<void> {
    try {
      const { profile, data } = await taken;
      const file = await this.profiles.write(id, data);
      const summary = summarise(profile);
      const metadata: ProfileMetadata = {
        id,
        file,
        store: this.profiles.dir,
        start: start.toISOString(),
        end: end.toISOString(),
        duration_ms: end.getTime() - start.getTime(),
        hz: this.config.hz,
        bytes: data.length,
        ...summary,
      };
      this.log.info(`profile ${id}: ${summary.samples} samples, ${summary.trace_ids.length} traces, ${data.length} bytes`, {
        event: { action: PROFILE_WRITTEN_ACTION },
        recoscope: { profile: metadata },
      });
      const pruned = await this.profiles.prune({ maxBytes: this.config.maxBytes, maxAgeMs: this.config.maxAgeMs }, file);
      if (pruned.removed > 0) {
        this.log.info(`profile store: removed ${pruned.removed} old profiles (${pruned.removedBytes} bytes); ${pruned.files} files, ${pruned.bytes} bytes left`, {
          event: { action: 'profile-store-pruned' },
          recoscope: { profile_store: { dir: this.profiles.dir, ...pruned, max_bytes: this.config.maxBytes, max_age_ms: this.config.maxAgeMs } },
        });
      }
    } catch (error) {
      // A full disk or a removed store loses this profile, never the request path.
      this.log.warn(`profiling: storing profile ${id} failed: ${error instanceof Error ? error.message : String(error)}`, {
        event: { action: 'profile-store-failed' },
        err: error,
      });
    }
  }

  /** Stops sampling and stores the last (partial) profile. */
  async stop(): Promise<void> {
    if (this.stopped) return this.pending;
    clearInterval(this.timer);
    const last = this.cut(true);
    this.stopped = true;
    await last;
  }
}
