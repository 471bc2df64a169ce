/**
 * Continuous profiling for the process: started once at start-up when PROFILING_ENABLED,
 * stopped (last profile stored) at shutdown. When the native profiler cannot start, the
 * service runs on without it and says so: profiling is an aid, never a reason to be down.
 */
import type { ProfilingConfig } from '../config';
import { ContinuousProfiler, type ProfilerLog } from './profiler';
import { setActiveProfiler } from './request';

let profiler: ContinuousProfiler | undefined;

export async function startProfiling(config: ProfilingConfig, log: ProfilerLog): Promise<void> {
  if (!config.enabled || profiler !== undefined) return;
  try {
    profiler = await ContinuousProfiler.start(config, log);
  } catch (error) {
    log.error(`profiling could not start, running without it: ${error instanceof Error ? error.message : String(error)}`, {
      event: { action: 'profiling-failed' },
      err: error,
    });
    return;
  }
  setActiveProfiler(profiler);
  log.info(`profiling at ${config.hz} Hz${config.clock === 'cpu' ? ' of CPU time' : ''}, a profile every ${config.periodMs / 1000} s into ${profiler.storeDir}`, {
    event: { action: 'profiling-started' },
    recoscope: {
      profiling: { hz: config.hz, clock: config.clock, period_ms: config.periodMs, store: profiler.storeDir, max_bytes: config.maxBytes, max_age_ms: config.maxAgeMs },
    },
  });
}

export function setProfiledModelVersions(versions: ReadonlyMap<string, string>): void {
  profiler?.setModelVersions(versions);
}

export async function stopProfiling(): Promise<void> {
  const p = profiler;
  if (p === undefined) return;
  setActiveProfiler(undefined);
  profiler = undefined;
  await p.stop();
}
