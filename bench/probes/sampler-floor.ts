/**
 * The floor under continuous profiling's cost on this machine, preloaded (`node --require`)
 * into an obs-off service by `npm run bench:profiling -- --floor`:
 *
 * - `SAMPLER_FLOOR=v8`: V8's own CPU profiler (through `node:inspector`), sampling at
 *   `SAMPLER_FLOOR_HZ` for the life of the process — the sampler `@datadog/pprof` drives,
 *   without that library, its contexts or our labels.
 * - `SAMPLER_FLOOR=wake`: a thread that wakes at `SAMPLER_FLOOR_HZ` and does nothing else —
 *   what the timer wake-up alone costs, under any sampler that runs a thread on a timer.
 *
 * The service never imports this; the bench puts it into the server's process.
 */
import { Session } from 'node:inspector';
import { isMainThread, Worker } from 'node:worker_threads';

export type SamplerFloorKind = 'v8' | 'wake';

export interface SamplerFloor {
  /** Stops sampling; resolves to the samples V8 took, or the times the thread woke. */
  stop(): Promise<number>;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolvePost, rejectPost) => {
    session.post(method, params, (error: Error | null, result?: object) => {
      if (error === null) resolvePost(result as T);
      else rejectPost(error);
    });
  });
}

async function startV8Sampler(hz: number): Promise<SamplerFloor> {
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: Math.round(1_000_000 / hz) });
  // V8 keeps every sample of a running profile: 100 Hz for a bench run of minutes is a few
  // MB, which is why this is a bench probe and not a way to run the service.
  await post(session, 'Profiler.start');
  return {
    async stop() {
      const { profile } = await post<{ profile: { samples?: number[] } }>(session, 'Profiler.stop');
      session.disconnect();
      return profile.samples?.length ?? 0;
    },
  };
}

// Atomics.wait with a timeout is a timed futex wait, as V8's profiler thread does between samples.
const WAKE_THREAD = `
const { workerData } = require('node:worker_threads');
const shared = new Int32Array(workerData.buffer);
while (Atomics.load(shared, 1) === 0) {
  Atomics.wait(shared, 1, 0, workerData.intervalMs);
  Atomics.add(shared, 0, 1);
}`;

async function startWakeThread(hz: number): Promise<SamplerFloor> {
  const buffer = new SharedArrayBuffer(8);
  const shared = new Int32Array(buffer);
  // execArgv [] : the thread must not load this preload again (it would start a thread of its own).
  const worker = new Worker(WAKE_THREAD, { eval: true, execArgv: [], workerData: { buffer, intervalMs: 1000 / hz } });
  worker.unref();
  // Started once its code runs: a thread takes tens to hundreds of ms to start on a loaded
  // machine, and its wake-ups count from there.
  await new Promise<void>((resolveOnline, rejectOnline) => {
    worker.once('online', () => resolveOnline());
    worker.once('error', rejectOnline);
  });
  return {
    async stop() {
      Atomics.store(shared, 1, 1);
      Atomics.notify(shared, 1);
      await new Promise<void>((resolveExit) => worker.once('exit', () => resolveExit()));
      return Atomics.load(shared, 0);
    },
  };
}

export function startSamplerFloor(kind: SamplerFloorKind, hz: number): Promise<SamplerFloor> {
  if (!Number.isFinite(hz) || hz <= 0) return Promise.reject(new Error(`sampler floor: a positive rate in Hz is needed, got ${hz}`));
  return kind === 'v8' ? startV8Sampler(hz) : startWakeThread(hz);
}

const requested = process.env.SAMPLER_FLOOR;
if (requested !== undefined && isMainThread) {
  if (requested !== 'v8' && requested !== 'wake') throw new Error(`SAMPLER_FLOOR must be v8 or wake, got '${requested}'`);
  startSamplerFloor(requested, Number(process.env.SAMPLER_FLOOR_HZ ?? '100')).catch((error: unknown) => {
    process.stderr.write(`sampler floor: ${String(error)}\n`);
    process.exit(1);
  });
}
