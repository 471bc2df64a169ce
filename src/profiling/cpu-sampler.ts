/**
 * PROFILING_CLOCK=cpu: the native CPU-time sampler (native/cpu-sampler.cc) and its samples as
 * pprof. A sample is taken after every 1/PROFILING_HZ seconds of CPU the main thread used, so an
 * idle service takes none, and what profiling costs is a share of the CPU used, not a fixed
 * amount per second (the wall-clock sampler's 7–8 ms/s here, busy or not).
 *
 * The native part walks and names the stacks itself, without V8's CPU profiler (which alone
 * cost more than this project's budget: native/cpu-sampler.cc says why). A request's
 * context is an index written into a shared slot around its synchronous work (no call into
 * native code); the context object is kept only when a sample was taken meanwhile.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';

const gzipAsync = promisify(gzip);

/** What native/cpu-sampler.cc's collect() returns: the call tree as parallel arrays (node 0 the root). */
export interface CollectedProfile {
  names: string[];
  urls: string[];
  lines: Int32Array;
  parents: Int32Array;
  /** Per sample: its leaf node, and the context index set when it was taken (0: none). */
  samples: Int32Array;
  contexts: Uint32Array;
}

interface NativeSampler {
  start(hz: number, slots: Int32Array): void;
  collect(last: boolean): CollectedProfile;
  stats(): SamplerStats;
}

/** Timer expirations the helper thread got, and those the kernel merged (it was late). */
export interface SamplerStats {
  expirations: number;
  overruns: number;
}

const BUILD_SCRIPT = 'src/profiling/native/build.sh';

function loadNative(): NativeSampler {
  const path = join(__dirname, 'native', 'cpu-sampler.node');
  try {
    return createRequire(__filename)(path) as NativeSampler;
  } catch (error) {
    throw new Error(`PROFILING_CLOCK=cpu needs the native sampler ${path} (built by ${BUILD_SCRIPT} in npm run build, with g++): ${error instanceof Error ? error.message : String(error)}`);
  }
}

export type Labeller<C> = (context: C) => Record<string, string>;

export class CpuSampler<C extends object> {
  private nextContext = 1;
  /** Context index → context, for requests with at least one sample in the current period. */
  private sampled = new Map<number, C>();

  private constructor(
    private readonly native: NativeSampler,
    private readonly hz: number,
    /** [0]: the context index of the running request (0: none); [1]: set by a sample taken meanwhile. */
    private readonly slots: Int32Array,
  ) {}

  static start<C extends object>(hz: number): CpuSampler<C> {
    const native = loadNative();
    const slots = new Int32Array(new SharedArrayBuffer(8));
    native.start(hz, slots);
    return new CpuSampler<C>(native, hz, slots);
  }

  /** Runs `fn` with `ctx` as the context of every sample taken until it returns. */
  run<R>(ctx: C, fn: () => R): R {
    const slots = this.slots;
    const index = this.nextContext++;
    if (this.nextContext > 0x7fff_fff0) this.nextContext = 1;
    slots[0] = index;
    slots[1] = 0;
    try {
      return fn();
    } finally {
      slots[0] = 0;
      // The object is filled in after fn returns (route, model): keeping the reference is enough.
      if (slots[1] !== 0) this.sampled.set(index, ctx);
    }
  }

  /**
   * Ends the current period now (its samples are already named: the stack is symbolised when
   * sampled) and resolves to its pprof profile (gzip). `last` stops sampling.
   */
  async cut(last: boolean, labels: Labeller<C>, startMs: number, endMs: number): Promise<{ profile: Profile; data: Buffer }> {
    const contexts = this.sampled;
    this.sampled = new Map();
    const collected = this.native.collect(last);
    const profile = toPprof(collected, (index) => {
      const ctx = contexts.get(index);
      return ctx === undefined ? {} : labels(ctx);
    }, this.hz, startMs, endMs);
    return { profile, data: await gzipAsync(profile.encode()) };
  }

  stats(): SamplerStats {
    return this.native.stats();
  }
}

/** pprof with two values per sample (count, CPU nanoseconds), one location per call-tree node. */
export function toPprof(collected: CollectedProfile, labelsOf: (contextIndex: number) => Record<string, string>, hz: number, startMs: number, endMs: number): Profile {
  const strings = new StringTable();
  const periodNs = Math.round(1e9 / hz);
  const functions: PprofFunction[] = [];
  const functionIds = new Map<string, number>();
  const locations: Location[] = [];
  const locationIds = new Map<number, number>();
  const locationOf = (node: number): number => {
    let id = locationIds.get(node);
    if (id !== undefined) return id;
    const name = collected.names[node] ?? '';
    const url = collected.urls[node] ?? '';
    const line = collected.lines[node] ?? 0;
    const key = `${name}\u0000${url}\u0000${line}`;
    let functionId = functionIds.get(key);
    if (functionId === undefined) {
      functionId = functions.length + 1;
      functionIds.set(key, functionId);
      functions.push(new PprofFunction({ id: functionId, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(url), startLine: line }));
    }
    id = locations.length + 1;
    locationIds.set(node, id);
    locations.push(new Location({ id, line: [new Line({ functionId, line })] }));
    return id;
  };
  // One pprof sample per (leaf node, context): counts add up.
  const counts = new Map<string, { node: number; context: number; count: number }>();
  for (let i = 0; i < collected.samples.length; i++) {
    const node = collected.samples[i] as number;
    const context = collected.contexts[i] as number;
    const key = `${node}:${context}`;
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { node, context, count: 1 });
    else entry.count++;
  }
  const samples: Sample[] = [];
  for (const { node, context, count } of counts.values()) {
    const locationId: number[] = [];
    for (let n = node; n > 0; n = collected.parents[n] as number) locationId.push(locationOf(n));
    const label = Object.entries(context === 0 ? {} : labelsOf(context)).map(([key, str]) => new Label({ key: strings.dedup(key), str: strings.dedup(str) }));
    samples.push(new Sample({ locationId, value: [count, count * periodNs], label }));
  }
  return new Profile({
    sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }), new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') })],
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period: periodNs,
    timeNanos: BigInt(startMs) * 1_000_000n,
    durationNanos: BigInt(Math.max(0, endMs - startMs)) * 1_000_000n,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
  });
}
