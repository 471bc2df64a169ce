/**
 * Preloaded into the service by `npm run soak` (`node --require dist/loadtest/soak-probe.js`):
 * every SOAK_PROBE_INTERVAL_MS it prints one JSON line on stdout with the process's RSS and
 * heap and the event-loop delay since the previous line (perf_hooks histogram, ms). The
 * service's own stdout logging is off in a soak, so these are the only lines there.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface SoakSample {
  /** Wall-clock time of the sample (Date.now()). */
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay over the interval, milliseconds. */
  lagMs: { p50: number; p99: number; max: number };
}

const interval = Number(process.env.SOAK_PROBE_INTERVAL_MS ?? '5000');
const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
const ms = (ns: number): number => Math.round(ns / 1e4) / 100;

setInterval(() => {
  const memory = process.memoryUsage();
  const sample: SoakSample = {
    at: Date.now(),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    lagMs: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) },
  };
  histogram.reset();
  process.stdout.write(`${JSON.stringify({ soak_probe: sample })}\n`);
}, interval).unref();
